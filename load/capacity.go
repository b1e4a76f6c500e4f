package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// Per-VU costs the engine budgets for before it starts: one connection
// (a file descriptor) and about vuMemory bytes (goroutine stack, request
// and response buffers, template state, metrics ring, kernel socket
// buffers). The estimate is deliberately generous: running out of either
// kills the run midway, which is worse than being told up front.
const (
	vuMemory = 64 << 10
	// reservedFiles are descriptors the process needs besides the VUs'
	// connections: standard streams, the history database, watchers,
	// feeders, profiles.
	reservedFiles = 64
)

// HostLimits are what this process may hold. A zero field is unknown and
// not checked.
type HostLimits struct {
	OpenFiles    uint64 // RLIMIT_NOFILE (soft)
	MemAvailable uint64 // bytes, MemAvailable of /proc/meminfo
}

// ReadHostLimits reads the open-files limit and the available memory.
func ReadHostLimits() HostLimits {
	var l HostLimits
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur != ^uint64(0) {
		l.OpenFiles = rl.Cur
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		l.MemAvailable = memAvailable(b)
	}
	return l
}

// memAvailable parses the MemAvailable line of /proc/meminfo; 0 when absent.
func memAvailable(meminfo []byte) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "MemAvailable:" {
			kb, err := strconv.ParseUint(string(f[1]), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// ErrCapacity reports a load this process cannot hold.
var ErrCapacity = errors.New("load exceeds what this process can hold")

// MaxVUsFor is the most VUs l allows (0: no known limit).
func MaxVUsFor(l HostLimits) int {
	m := -1
	if l.OpenFiles > 0 {
		m = 0
		if l.OpenFiles > reservedFiles {
			m = int(min(l.OpenFiles-reservedFiles, 1<<40))
		}
	}
	if l.MemAvailable > 0 {
		byMem := int(min(l.MemAvailable/vuMemory, 1<<40))
		if m < 0 || byMem < m {
			m = byMem
		}
	}
	if m < 0 {
		return 0
	}
	return max(m, 1)
}

// CheckCapacity reports, wrapping ErrCapacity, when vus VUs (this
// process's share) need more open files or memory than l allows, saying
// which limit was hit and how to get past it.
func CheckCapacity(vus int, l HostLimits) error {
	if vus <= 0 {
		return nil
	}
	if need := uint64(vus) + reservedFiles; l.OpenFiles > 0 && need > l.OpenFiles {
		return fmt.Errorf("%w: %d VUs need %d open files (one connection each) but this process may open %d: raise the limit (ulimit -n %d), run fewer VUs, or split the test over processes with --segment k/n",
			ErrCapacity, vus, need, l.OpenFiles, need)
	}
	if need := uint64(vus) * vuMemory; l.MemAvailable > 0 && need > l.MemAvailable {
		return fmt.Errorf("%w: %d VUs need about %s of memory (%s each) but %s is available: run fewer VUs, or split the test over machines with --segment k/n",
			ErrCapacity, vus, bytesText(need), bytesText(vuMemory), bytesText(l.MemAvailable))
	}
	return nil
}

// bytesText prints a size in binary units.
func bytesText(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit && exp < 4; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTP"[exp])
}
