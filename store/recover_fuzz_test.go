package store

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// FuzzRecoverWindows feeds arbitrary stored windows, one JSON document a
// line as run_windows holds them, to the rebuilding of a partial run. The
// rebuilt run must be storable (its document encodes and decodes back as
// a Run), end no earlier than it started, carry finite durations and rates,
// and grow its step list only as far as the windows' step indexes may
// reach.
func FuzzRecoverWindows(f *testing.F) {
	// Small windows of small histograms: every histogram costs a decoding,
	// and a large input costs the fuzzer's minimizing most of all.
	hist := func(us ...int64) string {
		h := metrics.NewHist()
		for _, v := range us {
			metrics.RecordUS(h, v)
		}
		return metrics.MustEncode(h)
	}
	var seed bytes.Buffer
	for i := range 2 {
		b, err := json.Marshal(result.Window{TS: float64(i), Requests: 3, Errors: 1, ErrKinds: map[string]int64{"http_5xx": 1},
			Hist: hist(900, 1200, 5000), Steps: []result.StepWindow{{Index: i, Requests: 3, Errors: 1, Hist: hist(900, 1200, 5000)}}})
		if err != nil {
			f.Fatal(err)
		}
		seed.Write(b)
		seed.WriteByte('\n')
	}
	f.Add(seed.Bytes())
	for _, s := range []string{
		`{"t_s": 0, "requests": 1, "steps": [{"i": 3, "requests": 1}]}`,
		`{"t_s": -5, "requests": 1, "steps": [{"i": -1, "requests": 1}]}`,
		`{"t_s": 1e300, "requests": 9223372036854775807, "errors": -1}`,
		`{"t_s": 2, "hist": "HISTFAAAAB94nJNpmSzMwMDAwMDAwA", "errors_by_kind": {"x": 1}}`,
		`{"t_s": 0, "steps": [{"i": 10001, "hist": "x"}]}`,
		"",
	} {
		f.Add([]byte(s))
	}
	skel := &result.Run{Version: result.Version, ID: "r1", Kind: "load", Plan: "p",
		StartedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Steps: testSteps}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Each window costs a decoding of its histograms (a few hundred
		// µs): past a few windows the fuzzer learns nothing new, slowly.
		if len(data) > 16<<10 {
			return
		}
		var ws []result.Window
		for _, line := range strings.Split(string(data), "\n") {
			var w result.Window
			if json.Unmarshal([]byte(line), &w) == nil {
				ws = append(ws, w)
			}
		}
		r := buildPartial(skel, ws)
		if n := len(r.Steps); n > max(len(skel.Steps), metrics.MaxStepIndex+1) {
			t.Fatalf("%d steps rebuilt from windows that may name steps up to %d", n, metrics.MaxStepIndex)
		}
		if r.EndedAt.Before(r.StartedAt) {
			t.Fatalf("run ends at %v, before its start at %v", r.EndedAt, r.StartedAt)
		}
		s := r.Summary
		for _, v := range []float64{s.DurationS, s.RPS, s.ErrorRate} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("summary %+v has a value out of range", s)
			}
		}
		cols, err := columnsOf(r, StateRecovered)
		if err != nil {
			t.Fatalf("the rebuilt run cannot be stored: %v", err)
		}
		back, err := result.Decode(strings.NewReader(cols.doc))
		if err != nil {
			t.Fatalf("the stored document does not read back: %v", err)
		}
		if len(r.Series) > len(ws) {
			t.Fatalf("%d windows rebuilt from %d", len(r.Series), len(ws))
		}
		if len(back.Series) != len(r.Series) || len(back.Steps) != len(r.Steps) || back.Summary.Requests != s.Requests {
			t.Fatalf("the stored document reads back as %d windows, %d steps, %d requests; want %d, %d, %d",
				len(back.Series), len(back.Steps), back.Summary.Requests, len(r.Series), len(r.Steps), s.Requests)
		}
	})
}
