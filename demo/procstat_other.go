//go:build !linux

package demo

// readProcessStats has no portable source off Linux; the shop then exports
// only process_start_time_seconds.
func readProcessStats() (processStats, bool) { return processStats{}, false }
