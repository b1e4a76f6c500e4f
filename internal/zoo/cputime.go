package zoo

import (
	"encoding/json"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// cpuBudget is an amount of CPU time a planted function spends per call.
// The function works in slices and asks spent() between them; the budget
// is counted on the thread's own CPU clock (the goroutine is locked to its
// thread meanwhile), so time the thread waited for a core does not count,
// and the cost is the same on a slow machine and a fast one. The thread
// clock is a system call, so it is read only once the wall clock says the
// budget could be used up (a thread never gets more CPU than wall time);
// between reads spent() costs a monotonic clock read. Where no thread
// clock exists the budget is wall time; a cap of twenty times the budget
// in wall time bounds every call.
type cpuBudget struct {
	startCPU  time.Duration
	startWall time.Time
	want      time.Duration
	nextRead  time.Duration // wall time since start at which to read the thread clock
	hasClock  bool
}

func startBudget(d time.Duration) cpuBudget {
	runtime.LockOSThread()
	c, ok := threadCPU()
	return cpuBudget{startCPU: c, startWall: time.Now(), want: d, nextRead: d, hasClock: ok}
}

// spent reports whether the budget is used up.
func (b *cpuBudget) spent() bool {
	wall := time.Since(b.startWall)
	if wall < b.nextRead {
		return false
	}
	if !b.hasClock || wall >= 20*b.want {
		return true
	}
	c, _ := threadCPU()
	used := c - b.startCPU
	if used >= b.want {
		return true
	}
	b.nextRead = wall + b.want - used
	return false
}

// done unlocks the thread; call it once the work is over.
func (b *cpuBudget) done() { runtime.UnlockOSThread() }

// query reads an integer query parameter, def when absent or invalid.
func query(r *http.Request, name string, def int) int {
	if v, err := strconv.Atoi(r.URL.Query().Get(name)); err == nil {
		return v
	}
	return def
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// sync1 returns a function that runs f once.
func sync1(f func()) func() {
	var once sync.Once
	return func() { once.Do(f) }
}
