package plan

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// The scalar parsers of a plan's values (durations, thresholds and the
// monitor's regression gate) are fuzzed on their own, apart from the YAML
// around them, so the fuzzer spends its time on their syntax.

// FuzzParseDuration: a duration that parses is not negative, prints as Go
// syntax that parses back to itself, and an error is one line.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"500ms", "2m", "1h30m", "30", "1.5", " 2s ", "-1s", "-0", "+5", "1e-320", "9.3e9", "9223372036.854775807", "NaN", "inf", "0x1p-2", "1_0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			oneLine(t, s, err)
			return
		}
		if d < 0 {
			t.Fatalf("%q parsed as the negative duration %v", s, d.D())
		}
		back, err := ParseDuration(d.D().String())
		if err != nil || back != d {
			t.Fatalf("%q → %v → %q → %v, %v", s, d.D(), d.D().String(), back.D(), err)
		}
	})
}

// FuzzParseThreshold: a threshold that parses has a known metric and
// operator and a finite, non-negative value (a fraction for error_rate),
// and its canonical form parses back to the same threshold.
func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"p95 < 500ms", "error_rate <= 1%", "rps > 100", "p99.9<1s", "error_rate < 0.01", "max >= 1h",
		"rps > nan", "rps>0x10", "rps>1_000", "error_rate < NaN%", "error_rate<-0", "p95 < 1e3ms", "p95<=-0s", "error_rate < 1e-400",
		"errors == 0", "p95 =< 1s", "p95", "", "P95 < 2S", "iterations>1e308"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		metric, op, v, err := ParseThreshold(s)
		if err != nil {
			oneLine(t, s, err)
			return
		}
		name, kind, ok := thresholdMetric(metric)
		if !ok || name != metric {
			t.Fatalf("%q: metric %q is not a canonical metric name", s, metric)
		}
		switch op {
		case "<", "<=", ">", ">=":
		default:
			t.Fatalf("%q: operator %q", s, op)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || kind == rateMetric && v > 1 {
			t.Fatalf("%q: %s value %v is out of range", s, metric, v)
		}
		var text string
		switch kind {
		case latencyMetric:
			text = strconv.FormatFloat(v, 'f', -1, 64) + "ms"
		default:
			text = strconv.FormatFloat(v, 'g', -1, 64)
		}
		canon := metric + " " + op + " " + text
		m2, op2, v2, err := ParseThreshold(canon)
		// A latency goes through whole nanoseconds: allow one.
		if err != nil || m2 != metric || op2 != op || math.Abs(v2-v) > 1e-6+v*1e-12 {
			t.Fatalf("%q → %s %s %v → %q → %s %s %v, %v", s, metric, op, v, canon, m2, op2, v2, err)
		}
	})
}

// FuzzParsePercent: a percentage that parses is a number from 0 to 100
// (0% to 10000%), and what it prints as parses back to it.
func FuzzParsePercent(f *testing.F) {
	for _, s := range []string{"20%", "20", "", " 5 % ", "0", "10000%", "10001", "-1%", "+Inf", "0x10", "1e-320", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParsePercent(s)
		if err != nil {
			oneLine(t, s, err)
			return
		}
		if !(v >= 0 && v <= 100) {
			t.Fatalf("%q parsed as %v, outside 0 to 100 (0%% to 10000%%)", s, v)
		}
		text := strconv.FormatFloat(v*100, 'g', -1, 64) + "%"
		back, err := ParsePercent(text)
		if err != nil || math.Abs(back-v) > v*1e-15 {
			t.Fatalf("%q → %v → %q → %v, %v", s, v, text, back, err)
		}
	})
}

// oneLine fails t when the error of input s spans lines.
func oneLine(t *testing.T, s string, err error) {
	t.Helper()
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("%q: the error is not one line: %q", s, err)
	}
}
