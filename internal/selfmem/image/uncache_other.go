//go:build linux && !(amd64 || arm64 || riscv64 || loong64 || ppc64 || ppc64le)

package image

// uncacheExecutable leaves the page cache alone where posix_fadvise's
// arguments are laid out otherwise (32-bit systems, s390x): Uncache is
// then Advise and MADV_RANDOM.
func uncacheExecutable() error { return nil }

const uncaches = false
