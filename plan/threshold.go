package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// metricKind says how a threshold metric's value is written and stored.
type metricKind int

const (
	latencyMetric metricKind = iota // a duration, stored in milliseconds
	rateMetric                      // a percentage or fraction, stored as 0..1
	countMetric                     // a plain non-negative number
)

// thresholdMetric returns the canonical name and kind of a metric name.
func thresholdMetric(name string) (string, metricKind, bool) {
	switch name {
	case "min", "mean", "max", "p50", "p90", "p95", "p99", "p999":
		return name, latencyMetric, true
	case "p99.9":
		return "p999", latencyMetric, true
	case "error_rate":
		return name, rateMetric, true
	case "rps", "requests", "errors", "iterations":
		return name, countMetric, true
	}
	return "", 0, false
}

const thresholdMetrics = "min, mean, max, p50, p90, p95, p99, p999, error_rate, rps, requests, errors, iterations"

// ParseThreshold parses an SLO expression such as "p95 < 500ms",
// "error_rate <= 1%" or "rps > 100" into its metric, operator and value.
// Latency values come back in milliseconds, error rates as a fraction
// (1% → 0.01), counts as written. "p99.9" is returned as "p999".
func ParseThreshold(expr string) (metric, op string, value float64, err error) {
	s := strings.TrimSpace(expr)
	if s == "" {
		return "", "", 0, fmt.Errorf("empty threshold (write it like \"p95 < 500ms\")")
	}
	end := strings.IndexAny(s, "<>=! \t")
	if end < 0 {
		return "", "", 0, fmt.Errorf("threshold %q has no comparison (write it like \"p95 < 500ms\")", expr)
	}
	name := strings.ToLower(s[:end])
	rest := strings.TrimLeft(s[end:], " \t")
	metric, kind, ok := thresholdMetric(name)
	if !ok {
		return "", "", 0, fmt.Errorf("unknown metric %q (use %s)", s[:end], thresholdMetrics)
	}
	switch {
	case strings.HasPrefix(rest, "<="), strings.HasPrefix(rest, ">="):
		op, rest = rest[:2], rest[2:]
	case strings.HasPrefix(rest, "<"), strings.HasPrefix(rest, ">"):
		op, rest = rest[:1], rest[1:]
	default:
		n := 0
		for n < len(rest) && strings.IndexByte("<>=!", rest[n]) >= 0 {
			n++
		}
		if n == 0 {
			return "", "", 0, fmt.Errorf("threshold %q has no comparison (use <, <=, > or >=)", expr)
		}
		return "", "", 0, fmt.Errorf("unknown operator %q (use <, <=, > or >=)", rest[:n])
	}
	text := strings.TrimSpace(rest)
	if text == "" {
		return "", "", 0, fmt.Errorf("threshold %q has no value", expr)
	}
	switch kind {
	case latencyMetric:
		value, err = latencyValue(metric, text)
	case rateMetric:
		value, err = rateValue(text)
	default:
		value, err = countValue(metric, text)
	}
	if err != nil {
		return "", "", 0, err
	}
	return metric, op, value, nil
}

// latencyValue parses a duration with a unit into milliseconds.
func latencyValue(metric, text string) (float64, error) {
	if _, err := strconv.ParseFloat(text, 64); err == nil {
		return 0, fmt.Errorf("%s needs a unit: %q is ambiguous (write 500ms or 1s)", metric, text)
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("%s needs a duration like 500ms or 1s, got %q", metric, text)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s must not be negative, got %q", metric, text)
	}
	return float64(d) / float64(time.Millisecond), nil
}

// rateValue parses "1%" or "0.01" into a fraction.
func rateValue(text string) (float64, error) {
	num, percent := strings.CutSuffix(text, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("error_rate needs a percentage like 1%% or a fraction like 0.01, got %q", text)
	}
	if percent {
		v /= 100
	}
	if !percent && v > 1 && v <= 100 {
		return 0, fmt.Errorf("error_rate must be a fraction between 0 and 1, got %q (write %s%% for a percentage)", text, num)
	}
	if v < 0 || v > 1 {
		return 0, fmt.Errorf("error_rate must be between 0 and 1 (0%% and 100%%), got %q", text)
	}
	return v, nil
}

// countValue parses a plain non-negative number.
func countValue(metric, text string) (float64, error) {
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s needs a plain number, got %q", metric, text)
	}
	if v < 0 {
		return 0, fmt.Errorf("%s must not be negative, got %q", metric, text)
	}
	return v, nil
}
