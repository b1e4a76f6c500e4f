//go:build !unix

package store

// processStart is unknown on this platform.
func processStart(int) int64 { return 0 }

// alive cannot tell on this platform (known is false), so a writer on this
// host is judged by its heartbeat alone.
func alive(int, int64) (running, known bool) { return false, false }
