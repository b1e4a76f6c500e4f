package load

import (
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
)

func TestSaturation(t *testing.T) {
	for _, c := range []struct {
		why          string
		model        result.Model
		cpu          float64
		wall         time.Duration
		lag          float64
		onTime, late int64
		want         string
	}{
		{"all the CPU for 5 s", "closed", 195, 5 * time.Second, 1, 0, 0, "all the CPU"},
		{"all the CPU for a moment, on schedule", "open", 195, 300 * time.Millisecond, 2, 50, 0, ""},
		{"all the CPU for a moment, schedule slipping", "open", 195, 300 * time.Millisecond, 40, 50, 0, "all the CPU"},
		{"half the CPU", "closed", 100, 5 * time.Second, 1, 0, 0, ""},
		{"late wakes", "open", 50, 5 * time.Second, 1, 1000, 20, "2.0% of iterations started"},
		{"a few late wakes", "open", 50, 5 * time.Second, 1, 1000, 5, ""},
		{"late wakes of too few iterations", "open", 50, 5 * time.Second, 1, 50, 20, ""},
		{"no schedule in the closed model", "closed", 50, 5 * time.Second, 1, 1000, 500, ""},
	} {
		sat, reason := saturation(c.model, c.cpu, 2, c.wall, c.lag, c.onTime, c.late)
		if sat != (c.want != "") || !strings.Contains(reason, c.want) {
			t.Errorf("%s: %v %q, want %q", c.why, sat, reason, c.want)
		}
	}
}
