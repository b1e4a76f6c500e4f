package plan

import (
	"testing"
	"time"
)

func TestParseThreshold(t *testing.T) {
	cases := []struct {
		expr   string
		why    string
		metric string
		op     string
		value  float64
		err    string
	}{
		{expr: "p95 < 500ms", why: "latency in milliseconds", metric: "p95", op: "<", value: 500},
		{expr: "p99<=1.5s", why: "spaces are optional; seconds become milliseconds", metric: "p99", op: "<=", value: 1500},
		{expr: "  mean > 250us ", why: "surrounding space is ignored; microseconds are fractions of a ms", metric: "mean", op: ">", value: 0.25},
		{expr: "p99.9 < 2s", why: "p99.9 is another name for p999", metric: "p999", op: "<", value: 2000},
		{expr: "P50 >= 1m", why: "metric names are case-insensitive", metric: "p50", op: ">=", value: 60000},
		{expr: "min < 1ms", why: "min is a latency", metric: "min", op: "<", value: 1},
		{expr: "max < 3s", why: "max is a latency", metric: "max", op: "<", value: 3000},
		{expr: "p90 < 100ms", why: "p90 is a latency", metric: "p90", op: "<", value: 100},
		{expr: "error_rate < 1%", why: "a percentage becomes a fraction", metric: "error_rate", op: "<", value: 0.01},
		{expr: "error_rate <= 0.02", why: "a fraction stays", metric: "error_rate", op: "<=", value: 0.02},
		{expr: "error_rate < 100%", why: "100% is the upper bound", metric: "error_rate", op: "<", value: 1},
		{expr: "rps > 100", why: "counts are plain numbers", metric: "rps", op: ">", value: 100},
		{expr: "requests >= 1e3", why: "any float syntax", metric: "requests", op: ">=", value: 1000},
		{expr: "errors < 5", why: "errors is a count", metric: "errors", op: "<", value: 5},
		{expr: "iterations > 10", why: "iterations is a count", metric: "iterations", op: ">", value: 10},

		{expr: "", why: "empty", err: `empty threshold (write it like "p95 < 500ms")`},
		{expr: "p95", why: "no operator", err: `threshold "p95" has no comparison (write it like "p95 < 500ms")`},
		{expr: "p95 500ms", why: "a value without an operator", err: `threshold "p95 500ms" has no comparison (use <, <=, > or >=)`},
		{expr: "p95 == 1s", why: "equality is not a threshold", err: `unknown operator "==" (use <, <=, > or >=)`},
		{expr: "p95 =< 1s", why: "a reversed operator is named", err: `unknown operator "=<" (use <, <=, > or >=)`},
		{expr: "p95 <", why: "no value", err: `threshold "p95 <" has no value`},
		{expr: "latency < 1s", why: "unknown metric", err: `unknown metric "latency" (use min, mean, max, p50, p90, p95, p99, p999, error_rate, rps, requests, errors, iterations)`},
		{expr: "p95 < 500", why: "a latency without a unit is ambiguous", err: `p95 needs a unit: "500" is ambiguous (write 500ms or 1s)`},
		{expr: "p95 < fast", why: "not a duration", err: `p95 needs a duration like 500ms or 1s, got "fast"`},
		{expr: "p95 < -1s", why: "negative latency", err: `p95 must not be negative, got "-1s"`},
		{expr: "error_rate < 5", why: "a number above 1 was meant as a percentage", err: `error_rate must be a fraction between 0 and 1, got "5" (write 5% for a percentage)`},
		{expr: "error_rate < 150%", why: "above 100%", err: `error_rate must be between 0 and 1 (0% and 100%), got "150%"`},
		{expr: "error_rate < -1%", why: "negative rate", err: `error_rate must be between 0 and 1 (0% and 100%), got "-1%"`},
		{expr: "error_rate < 1s", why: "a duration is not a rate", err: `error_rate needs a percentage like 1% or a fraction like 0.01, got "1s"`},
		{expr: "rps > 1s", why: "a duration is not a count", err: `rps needs a plain number, got "1s"`},
		{expr: "rps > NaN", why: "NaN is not a number here", err: `rps needs a plain number, got "NaN"`},
		{expr: "errors < -1", why: "negative count", err: `errors must not be negative, got "-1"`},
	}
	for _, tc := range cases {
		metric, op, value, err := ParseThreshold(tc.expr)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q (%s): got error %v, want %q", tc.expr, tc.why, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q (%s): %v", tc.expr, tc.why, err)
			continue
		}
		if metric != tc.metric || op != tc.op || value != tc.value {
			t.Errorf("%q (%s): got %s %s %v, want %s %s %v", tc.expr, tc.why, metric, op, value, tc.metric, tc.op, tc.value)
		}
	}
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in   string
		why  string
		want time.Duration
		err  string
	}{
		{in: "500ms", why: "Go syntax", want: 500 * time.Millisecond},
		{in: "1h30m", why: "compound Go syntax", want: 90 * time.Minute},
		{in: "0", why: "zero needs no unit", want: 0},
		{in: "30", why: "a plain number is seconds", want: 30 * time.Second},
		{in: "1.5", why: "fractional seconds", want: 1500 * time.Millisecond},
		{in: " 2m ", why: "surrounding space is ignored", want: 2 * time.Minute},
		{in: "1d", why: "days are not Go syntax", err: `invalid duration "1d" (use 500ms, 2m, 1h30m or a number of seconds)`},
		{in: "", why: "empty", err: `invalid duration "" (use 500ms, 2m, 1h30m or a number of seconds)`},
		{in: "-1s", why: "negative", err: `negative duration "-1s"`},
		{in: "-3", why: "negative seconds", err: `negative duration "-3"`},
		{in: "Inf", why: "infinity is not a duration", err: `invalid duration "Inf" (use 500ms, 2m, 1h30m or a number of seconds)`},
		{in: "1e12", why: "too many seconds for a time.Duration", err: `duration "1e12" is out of range`},
	}
	for _, tc := range cases {
		got, err := ParseDuration(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q (%s): got error %v, want %q", tc.in, tc.why, err, tc.err)
			}
			continue
		}
		if err != nil || got.D() != tc.want {
			t.Errorf("%q (%s): got %v, %v; want %v", tc.in, tc.why, got.D(), err, tc.want)
		}
	}
}
