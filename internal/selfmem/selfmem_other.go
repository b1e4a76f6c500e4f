//go:build !linux

package selfmem

func dropImage() (int64, error) { return 0, nil }
