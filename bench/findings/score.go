package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/internal/zoo"
	"github.com/stampede-perf/stampede/result"
)

// Outcome is what one run of one service concluded, judged against the
// service's ground truth.
type Outcome struct {
	Service string `json:"service"`
	Run     int    `json:"run"`
	Healthy bool   `json:"healthy"`
	// Err is why the run gave no Run document (the service or the CLI
	// failed); such a run counts as a miss.
	Err string `json:"error,omitempty"`

	// For a fault: a finding of one of the truth's kinds (any severity),
	// one that also names the function, and one that does both at
	// medium or high severity (the recall).
	KindNamed     bool `json:"kind_named"`
	FunctionNamed bool `json:"function_named"`
	Detected      bool `json:"detected"`
	// Rank is the detecting finding's place among the run's findings of
	// medium or high severity (1: first), a saturated generator's left
	// out; 0 when not detected.
	Rank int `json:"rank,omitempty"`

	// False are the findings of medium or high severity of a healthy
	// service; Other those of a fault service that are not about its
	// fault (side effects or false alarms: listed, not scored).
	False []Brief `json:"false,omitempty"`
	Other []Brief `json:"other,omitempty"`
	// Saturated is set when the generator said it was the bottleneck.
	Saturated bool `json:"generator_saturated,omitempty"`
	// Coverage is the share of the service's CPU time its CPU profile
	// sampled (system.cpu_profile_coverage; 0 when unknown).
	Coverage float64 `json:"cpu_profile_coverage,omitempty"`
	// Judged are the findings whose truth is known, for the calibration.
	Judged []Judged `json:"judged,omitempty"`
	// Findings are every finding of the run, for the record.
	Findings []Brief `json:"findings,omitempty"`
}

// Brief is a finding in a line.
type Brief struct {
	Kind       string  `json:"kind"`
	Severity   string  `json:"severity"`
	Confidence float64 `json:"confidence"`
	Subject    string  `json:"subject,omitempty"`
	Title      string  `json:"title"`
}

func (b Brief) String() string {
	return fmt.Sprintf("[%s %s %.0f%%] %s", b.Severity, b.Kind, 100*b.Confidence, b.Title)
}

// Judged is one finding whose truth is known: its printed confidence and
// whether it was right.
type Judged struct {
	Confidence float64 `json:"confidence"`
	Right      bool    `json:"right"`
}

func brief(f result.Finding) Brief {
	return Brief{Kind: string(f.Kind), Severity: string(f.Severity), Confidence: f.Confidence, Subject: f.Subject, Title: f.Title}
}

// atLeastMedium reports a finding of medium or high severity.
func atLeastMedium(f result.Finding) bool { return f.Severity == "high" || f.Severity == "medium" }

// names reports whether the finding names function fn, in its subject or
// its title (a symbol name such as "zoo.(*ledger).postEntry" contains
// "postEntry").
func names(f result.Finding, fn string) bool {
	return fn == "" || strings.Contains(f.Subject, fn) || strings.Contains(f.Title, fn)
}

// Score judges the findings of one run of a service with truth t.
func Score(service string, run int, t zoo.Truth, findings []result.Finding) Outcome {
	o := Outcome{Service: service, Run: run, Healthy: t.Healthy}
	rank := 0
	for _, f := range findings {
		o.Findings = append(o.Findings, brief(f))
		if f.Kind == "generator_saturated" {
			// Always first when present, and about the generator: it
			// is counted apart and takes no place in the ranking.
			o.Saturated = true
			continue
		}
		severe := atLeastMedium(f)
		if severe {
			rank++
		}
		if t.Healthy {
			// Every claim about a healthy service is wrong; those of
			// medium or high severity are false alarms.
			o.Judged = append(o.Judged, Judged{Confidence: f.Confidence, Right: false})
			if severe {
				o.False = append(o.False, brief(f))
			}
			continue
		}
		if !slices.Contains(t.Kinds, string(f.Kind)) {
			if severe {
				o.Other = append(o.Other, brief(f))
			}
			continue
		}
		o.KindNamed = true
		right := names(f, t.Function)
		o.Judged = append(o.Judged, Judged{Confidence: f.Confidence, Right: right})
		if right {
			o.FunctionNamed = true
			if severe && !o.Detected {
				o.Detected, o.Rank = true, rank
			}
		}
	}
	return o
}

// Row is one line of the confusion matrix: a fault service over its runs,
// or a healthy one.
type Row struct {
	Service  string `json:"service"`
	Kinds    string `json:"kinds,omitempty"`
	Function string `json:"function,omitempty"`
	Runs     int    `json:"runs"`
	Errors   int    `json:"errors"`
	// Saturated counts the runs whose generator said it was the
	// bottleneck: their numbers are doubtful.
	Saturated int     `json:"generator_saturated"`
	Kind      float64 `json:"kind_named"`     // share of runs
	Func      float64 `json:"function_named"` // share of runs
	Recall    float64 `json:"recall"`         // share of runs detected
	First     float64 `json:"ranked_first"`   // share of runs where the detecting finding came first
	// FalseRuns is the share of a healthy service's runs with a false
	// alarm; False counts the false alarms.
	FalseRuns float64  `json:"false_alarm_runs,omitempty"`
	False     int      `json:"false_alarms,omitempty"`
	Listed    []string `json:"listed,omitempty"` // the false alarms (or a fault's other findings), counted
}

// Matrix folds outcomes into one row per service, in the zoo's order.
func Matrix(services []zoo.Service, outs []Outcome) []Row {
	var rows []Row
	for _, s := range services {
		r := Row{Service: s.Name}
		if !s.Truth.Healthy {
			r.Kinds, r.Function = strings.Join(s.Truth.Kinds, "|"), s.Truth.Function
		}
		listed := map[string]int{}
		var kind, fn, det, first, falseRuns int
		for _, o := range outs {
			if o.Service != s.Name {
				continue
			}
			r.Runs++
			if o.Err != "" {
				r.Errors++
			}
			r.Saturated += b2i(o.Saturated)
			kind += b2i(o.KindNamed)
			fn += b2i(o.FunctionNamed)
			det += b2i(o.Detected)
			first += b2i(o.Rank == 1)
			if len(o.False) > 0 {
				falseRuns++
			}
			r.False += len(o.False)
			for _, b := range slices.Concat(o.False, o.Other) {
				listed[b.Severity+" "+b.Kind+": "+shorten(b.Title, 90)]++
			}
		}
		if r.Runs > 0 {
			n := float64(r.Runs)
			r.Kind, r.Func, r.Recall, r.First, r.FalseRuns = float64(kind)/n, float64(fn)/n, float64(det)/n, float64(first)/n, float64(falseRuns)/n
		}
		for k, c := range listed {
			r.Listed = append(r.Listed, fmt.Sprintf("%d× %s", c, k))
		}
		slices.Sort(r.Listed)
		rows = append(rows, r)
	}
	return rows
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// Bucket is one line of the calibration table: the findings whose printed
// confidence fell in [Lo, Hi) and how often they were right.
type Bucket struct {
	Lo, Hi   float64
	N        int
	Right    int
	MeanConf float64
}

// Calibrate buckets the judged findings by printed confidence.
func Calibrate(outs []Outcome) []Bucket {
	edges := []float64{0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001}
	bs := make([]Bucket, len(edges)-1)
	for i := range bs {
		bs[i].Lo, bs[i].Hi = edges[i], edges[i+1]
	}
	for _, o := range outs {
		for _, j := range o.Judged {
			for i := range bs {
				if j.Confidence >= bs[i].Lo && j.Confidence < bs[i].Hi {
					bs[i].N++
					bs[i].Right += b2i(j.Right)
					bs[i].MeanConf += j.Confidence
					break
				}
			}
		}
	}
	for i := range bs {
		if bs[i].N > 0 {
			bs[i].MeanConf /= float64(bs[i].N)
		}
	}
	return bs
}

// Totals are the scoreboard's headline numbers.
type Totals struct {
	FaultRuns      int     `json:"fault_runs"`
	Recall         float64 `json:"recall"`          // detected / fault runs
	KindRecall     float64 `json:"kind_recall"`     // right kind named / fault runs
	FunctionRecall float64 `json:"function_recall"` // right kind and function / fault runs
	HealthyRuns    int     `json:"healthy_runs"`
	FalseAlarmRate float64 `json:"false_alarm_rate"` // healthy runs with a medium/high finding / healthy runs
	FalseAlarms    int     `json:"false_alarms"`
	Errors         int     `json:"errors"`
	Saturated      int     `json:"generator_saturated"` // runs whose generator said it was the bottleneck
}

// Total sums the outcomes.
func Total(outs []Outcome) Totals {
	var t Totals
	var det, kind, fn, falseRuns int
	for _, o := range outs {
		if o.Err != "" {
			t.Errors++
		}
		t.Saturated += b2i(o.Saturated)
		if o.Healthy {
			t.HealthyRuns++
			t.FalseAlarms += len(o.False)
			falseRuns += b2i(len(o.False) > 0)
			continue
		}
		t.FaultRuns++
		det += b2i(o.Detected)
		kind += b2i(o.KindNamed)
		fn += b2i(o.FunctionNamed)
	}
	if t.FaultRuns > 0 {
		n := float64(t.FaultRuns)
		t.Recall, t.KindRecall, t.FunctionRecall = float64(det)/n, float64(kind)/n, float64(fn)/n
	}
	if t.HealthyRuns > 0 {
		t.FalseAlarmRate = float64(falseRuns) / float64(t.HealthyRuns)
	}
	return t
}

// Print writes the confusion matrix, the false alarms and the
// calibration table.
func Print(w io.Writer, rows []Row, cal []Bucket, tot Totals) {
	fmt.Fprintln(w, "Faults: share of runs that named the right kind (kind), the right kind and own function (func), and that at medium")
	fmt.Fprintln(w, "or high severity (recall); how often that finding ranked first (first); runs with a saturated generator (sat)")
	fmt.Fprintf(w, "%-18s %-44s %-20s %4s %5s %5s %6s %6s %4s %4s\n", "service", "expected kind", "function", "runs", "kind", "func", "recall", "first", "sat", "err")
	for _, r := range rows {
		if r.Kinds == "" {
			continue
		}
		fmt.Fprintf(w, "%-18s %-44s %-20s %4d %5s %5s %6s %6s %4d %4d\n", r.Service, shorten(r.Kinds, 44), orDash(r.Function), r.Runs, pct(r.Kind), pct(r.Func), pct(r.Recall), pct(r.First), r.Saturated, r.Errors)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Healthy: runs with a false finding of medium or high severity")
	fmt.Fprintf(w, "%-18s %4s %12s %7s %4s %4s\n", "service", "runs", "false-alarm", "alarms", "sat", "err")
	for _, r := range rows {
		if r.Kinds != "" {
			continue
		}
		fmt.Fprintf(w, "%-18s %4d %12s %7d %4d %4d\n", r.Service, r.Runs, pct(r.FalseRuns), r.False, r.Saturated, r.Errors)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Findings listed (healthy: false alarms; faults: medium/high findings about something else)")
	for _, r := range rows {
		for _, l := range r.Listed {
			fmt.Fprintf(w, "  %-18s %s\n", r.Service, l)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Calibration: findings whose truth is known, by printed confidence")
	fmt.Fprintf(w, "%-11s %5s %9s %7s\n", "confidence", "n", "mean conf", "right")
	for _, b := range cal {
		right := "-"
		if b.N > 0 {
			right = pct(float64(b.Right) / float64(b.N))
		}
		fmt.Fprintf(w, "%3.0f–%3.0f%%   %5d %8.0f%% %7s\n", 100*b.Lo, math.Min(100, 100*b.Hi), b.N, 100*b.MeanConf, right)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "recall %s of %d fault runs (kind named %s, kind and function %s); false alarms in %s of %d healthy runs (%d findings); %d runs failed\n",
		pct(tot.Recall), tot.FaultRuns, pct(tot.KindRecall), pct(tot.FunctionRecall), pct(tot.FalseAlarmRate), tot.HealthyRuns, tot.FalseAlarms, tot.Errors)
	if n := tot.FaultRuns + tot.HealthyRuns; tot.Saturated > n/2 {
		fmt.Fprintf(w, "note: the generator said it was saturated in %d of %d runs: the machine was busy (other processes, or too few cores for the generator and the service); compare only with scoreboards made in the same conditions\n",
			tot.Saturated, n)
	}
}

func pct(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }

func orDash(s string) string { return cmp.Or(s, "-") }
