package analyze

import (
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// A process gone during a memory step is an OOM kill only where its
// cgroup's counter rose; gone with the counter still is its own exit;
// gone with no counter to read is either.
func TestMemoryJudgeTellsOOMKillFromExit(t *testing.T) {
	sys := func(kills int64, src string) *result.System {
		return &result.System{
			Timeline: []result.SystemPoint{{TS: 1, RSSMB: 40}, {TS: 2, RSSMB: 47}},
			Process: &result.ProcessStats{Exited: true, ExitedAtS: 2.5,
				Limits: &result.ProcessLimits{MemoryMB: 48, OOMKills: kills, OOMSource: src, LimitHits: 7, LimitHitsSource: "memory.failcnt"}},
		}
	}
	l := MemoryLimits{GCPct: 25}
	for _, c := range []struct {
		name        string
		sys         *result.System
		cause, text string
	}{
		{"killed", sys(1, "memory.oom_control"), MemoryKilled, "oom_kill counter (memory.oom_control) rose by 1 (its cgroup's memory limit: 48 MB)"},
		{"exited", sys(0, "memory.events"), MemoryExited, "counted no OOM kill (memory.events)"},
		{"unknown", sys(0, ""), MemoryKilled, "counter was unreadable"},
	} {
		u := ProcessUse(c.sys, 0, 3)
		if !u.Gone || u.RSSMB != 47 || u.LimitMB != 48 {
			t.Errorf("%s: use %+v", c.name, u)
		}
		cause, why := l.Judge(u)
		if cause != c.cause || !strings.Contains(why, c.text) {
			t.Errorf("%s: %s, %q; want %s, %q", c.name, cause, why, c.cause, c.text)
		}
		st := &result.Stress{Unit: "× rows", Limit: LimitMemory, BreakingPoint: 4,
			Curve: []result.StressPoint{{Load: 2, OK: true, RSSMB: 30}, {Load: 4, RSSMB: 47, Limit: LimitMemory}}}
		r := MemoryLimit(st, l, "rows", func(m float64) string { return "x" }, map[float64]string{4: cause}, u)
		if !r.Reached || r.Load != 4 || r.Cause != c.cause || r.OOMKills != u.OOMKills || r.OOMSource != u.OOMSource || r.CgroupMB != 48 || r.CgroupHeadroomMB != 1 || r.LimitHits != 7 {
			t.Errorf("%s: limit %+v", c.name, r)
		}
		// 48 MB − 47 MB, a 48th of the limit; over it, when RSS counted
		// file pages charged elsewhere.
		over := *r
		over.RSSMB, over.CgroupHeadroomMB = 50, -2
		if want := "; its cgroup's memory limit: 48 MB, that RSS 2 MB over it (RSS counts mapped file pages charged to other cgroups), reached 7 times in the last step (memory.failcnt)"; cgroupDistance(&over) != want {
			t.Errorf("%s: over the limit: %q, want %q", c.name, cgroupDistance(&over), want)
		}
		if want := "its cgroup's memory limit: 48 MB, 1 MB (2%) above that RSS, reached 7 times in the last step (memory.failcnt)"; !strings.HasSuffix(r.Text, want) {
			t.Errorf("%s: text %q does not end %q", c.name, r.Text, want)
		}
		run := &result.Run{Stress: st}
		st.Resource = r
		fs, _ := ruleMemoryLimit(&evaluation{run: run})
		if len(fs) != 1 || fs[0].Severity != SeverityHigh {
			t.Fatalf("%s: findings %+v", c.name, fs)
		}
		hasOOM, hasDistance := false, false
		for _, e := range fs[0].Evidence {
			hasOOM = hasOOM || e.Metric == "oom_kills" && e.Value == float64(c.sys.Process.Limits.OOMKills) && e.Source == c.sys.Process.Limits.OOMSource
			hasDistance = hasDistance || e.Metric == "cgroup_headroom_mb" && e.Value == 1
		}
		if !hasDistance {
			t.Errorf("%s: no cgroup_headroom_mb evidence of 1 MB in %+v", c.name, fs[0].Evidence)
		}
		if hasOOM != (c.sys.Process.Limits.OOMSource != "") {
			t.Errorf("%s: oom_kills evidence %v in %+v", c.name, hasOOM, fs[0].Evidence)
		}
	}
}

// The cpu variant's text names where the capacity came from.
func TestCPULimitNamesItsCapacity(t *testing.T) {
	st := &result.Stress{Unit: "requests/s", Limit: LimitNone,
		Curve: []result.StressPoint{{Load: 100, RPS: 100, CPUCores: 0.2}, {Load: 200, RPS: 200, CPUCores: 0.46}}}
	r := CPULimit(st, 0.5, "cgroup")
	if !r.Reached || r.Saturated != "service" || r.Load != 200 || !strings.Contains(r.Text, "saturates 0.46 of 0.5 cores (its cgroup's CPU quota)") {
		t.Errorf("limit %+v", r)
	}
	r = CPULimit(st, 2, "affinity")
	if r.Reached || !strings.Contains(r.Text, "at most 0.46 of 2 cores (its CPU affinity mask; 23%)") {
		t.Errorf("limit %+v", r)
	}
}
