package demo

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// userHZ is the kernel's USER_HZ, the unit of /proc CPU times: 100 on every
// Linux architecture Go supports (client_golang's procfs assumes the same).
const userHZ = 100

// readProcessStats reads /proc/self the way client_golang's process
// collector does.
func readProcessStats() (processStats, bool) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return processStats{}, false
	}
	// Fields after the command name, which is in parentheses and may
	// itself contain spaces or parentheses.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return processStats{}, false
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 22 {
		return processStats{}, false
	}
	num := func(field int) float64 {
		v, _ := strconv.ParseUint(f[field-3], 10, 64)
		return float64(v)
	}
	ps := processStats{
		cpuSeconds:    (num(14) + num(15)) / userHZ,
		virtualBytes:  num(23),
		residentBytes: num(24) * float64(os.Getpagesize()),
	}
	if boot, ok := bootTime(); ok {
		ps.startTime = boot + num(22)/userHZ
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		ps.openFDs = float64(len(fds))
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		ps.maxFDs = float64(lim.Cur)
	}
	return ps, true
}

// bootTime is the btime line of /proc/stat, in seconds since the epoch.
func bootTime() (float64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "btime "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}
