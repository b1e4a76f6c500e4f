//go:build unix

package store

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// processStart is when process pid started, in clock ticks since boot as
// /proc reports it, or 0 where there is no /proc. Together with the pid it
// tells the writer of a run apart from a later process given the same pid.
func processStart(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return parseStatStart(string(b))
}

// parseStatStart reads field 22 (starttime) of /proc/PID/stat. The command
// name (field 2) is in parentheses and may itself hold spaces and ')'.
func parseStatStart(stat string) int64 {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state), so field 22 is f[19].
	if len(f) < 20 {
		return 0
	}
	n, err := strconv.ParseInt(f[19], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// alive reports whether the process pid that started at start (0:
// unknown) still runs on this host; known is always true here.
func alive(pid int, start int64) (running, known bool) {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false, true
	}
	if start != 0 {
		if now := processStart(pid); now != 0 && now != start {
			return false, true // the pid was reused
		}
	}
	return true, true
}
