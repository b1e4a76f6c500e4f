package main

import (
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/internal/zoo"
	"github.com/stampede-perf/stampede/result"
)

func finding(kind, sev string, conf float64, subject string) result.Finding {
	return result.Finding{Kind: result.FindingKind(kind), Severity: result.Severity(sev), Confidence: conf, Subject: subject, Title: kind + " in " + subject}
}

func TestScore(t *testing.T) {
	lock := zoo.Truth{Kinds: []string{"lock_contention"}, Function: "postEntry"}
	queue := zoo.Truth{Kinds: []string{"queue_growth", "slow_response"}, Note: "no function"}
	healthy := zoo.Truth{Healthy: true}
	sat := finding("generator_saturated", "high", 0.95, "generator")
	tests := []struct {
		why      string
		truth    zoo.Truth
		findings []result.Finding
		kind     bool
		fn       bool
		detected bool
		rank     int
		false_   int
		right    []bool // the judged findings, in order
	}{
		{"the planted function at high severity, first", lock,
			[]result.Finding{finding("lock_contention", "high", 0.9, "zoo.(*ledger).postEntry")},
			true, true, true, 1, 0, []bool{true}},
		{"a saturated generator takes no place in the ranking", lock,
			[]result.Finding{sat, finding("lock_contention", "medium", 0.9, "zoo.(*ledger).postEntry")},
			true, true, true, 1, 0, []bool{true}},
		{"ranked behind another medium finding", lock,
			[]result.Finding{finding("cpu_saturation", "high", 0.99, "cpu"), finding("lock_contention", "medium", 0.6, "zoo.(*ledger).postEntry")},
			true, true, true, 2, 0, []bool{true}},
		{"the right function at low severity is not a detection", lock,
			[]result.Finding{finding("lock_contention", "low", 0.5, "zoo.(*ledger).postEntry")},
			true, true, false, 0, 0, []bool{true}},
		{"the right kind naming the runtime is wrong", lock,
			[]result.Finding{finding("lock_contention", "high", 0.9, "runtime.unlock")},
			true, false, false, 0, 0, []bool{false}},
		{"another kind naming the function is not the fault (and not judged)", lock,
			[]result.Finding{finding("cpu_hotspot", "high", 0.9, "zoo.(*ledger).postEntry")},
			false, false, false, 0, 0, nil},
		{"no function expected: the kind is enough", queue,
			[]result.Finding{finding("slow_response", "medium", 0.7, "run")},
			true, true, true, 1, 0, []bool{true}},
		{"healthy: every medium or high finding is a false alarm, every finding is wrong", healthy,
			[]result.Finding{finding("memory_leak", "high", 0.99, "heap"), finding("lock_contention", "low", 0.5, "x")},
			false, false, false, 0, 1, []bool{false, false}},
		{"healthy and quiet", healthy, nil, false, false, false, 0, 0, nil},
	}
	for _, tt := range tests {
		o := Score("svc", 1, tt.truth, tt.findings)
		if o.KindNamed != tt.kind || o.FunctionNamed != tt.fn || o.Detected != tt.detected || o.Rank != tt.rank || len(o.False) != tt.false_ {
			t.Errorf("%s: kind %v fn %v detected %v rank %d false %d; want %v %v %v %d %d",
				tt.why, o.KindNamed, o.FunctionNamed, o.Detected, o.Rank, len(o.False), tt.kind, tt.fn, tt.detected, tt.rank, tt.false_)
		}
		if len(o.Judged) != len(tt.right) {
			t.Errorf("%s: %d findings judged, want %d", tt.why, len(o.Judged), len(tt.right))
			continue
		}
		for i, j := range o.Judged {
			if j.Right != tt.right[i] {
				t.Errorf("%s: judged finding %d right=%v, want %v", tt.why, i, j.Right, tt.right[i])
			}
		}
	}
}

func TestMatrixAndTotals(t *testing.T) {
	svcs := []zoo.Service{
		{Name: "lock", Truth: zoo.Truth{Kinds: []string{"lock_contention"}, Function: "postEntry"}},
		{Name: "calm", Truth: zoo.Truth{Healthy: true}},
	}
	hit := []result.Finding{finding("lock_contention", "high", 0.92, "zoo.(*ledger).postEntry")}
	alarm := []result.Finding{finding("memory_leak", "high", 0.99, "heap")}
	outs := []Outcome{
		Score("lock", 1, svcs[0].Truth, hit),
		Score("lock", 2, svcs[0].Truth, nil),
		Score("lock", 3, svcs[0].Truth, hit),
		Score("calm", 1, svcs[1].Truth, alarm),
		Score("calm", 2, svcs[1].Truth, nil),
	}
	outs[1].Err = "the service exited"
	rows := Matrix(svcs, outs)
	if len(rows) != 2 || rows[0].Runs != 3 || rows[0].Errors != 1 || rows[0].Recall != 2.0/3 || rows[0].First != 2.0/3 {
		t.Errorf("fault row %+v: want 3 runs, 1 error, recall 2/3, first 2/3", rows[0])
	}
	if rows[1].Runs != 2 || rows[1].FalseRuns != 0.5 || rows[1].False != 1 || len(rows[1].Listed) != 1 || !strings.HasPrefix(rows[1].Listed[0], "1× high memory_leak") {
		t.Errorf("healthy row %+v: want 2 runs, half with one false alarm listed", rows[1])
	}
	tot := Total(outs)
	if tot.FaultRuns != 3 || tot.Recall != 2.0/3 || tot.HealthyRuns != 2 || tot.FalseAlarmRate != 0.5 || tot.Errors != 1 {
		t.Errorf("totals %+v", tot)
	}
	cal := Calibrate(outs)
	var n, right int
	for _, b := range cal {
		n += b.N
		right += b.Right
		if b.Lo == 0.9 && (b.N != 2 || b.Right != 2) {
			t.Errorf("bucket 90–95%%: %d findings, %d right; want the two hits", b.N, b.Right)
		}
		if b.Lo == 0.95 && (b.N != 1 || b.Right != 0) {
			t.Errorf("bucket 95–100%%: %d findings, %d right; want the false alarm", b.N, b.Right)
		}
	}
	if n != 3 || right != 2 {
		t.Errorf("calibration holds %d findings, %d right; want 3 and 2", n, right)
	}
	var b strings.Builder
	Print(&b, rows, cal, tot)
	for _, want := range []string{"lock", "postEntry", "67%", "calm", "50%", "recall 67% of 3 fault runs"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the printed scoreboard lacks %q:\n%s", want, b.String())
		}
	}
}
