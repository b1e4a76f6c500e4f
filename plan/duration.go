package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a duration in Go syntax ("500ms", "2m", "1h30m") or
// a plain number of seconds ("30", "1.5"), the same forms a plan file
// accepts. Negative durations are rejected: no plan setting has a use for
// them.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if secs, err := strconv.ParseFloat(t, 64); err == nil && t != "" && !strings.ContainsAny(t, "xXpPnNiI_") {
		return secondsDuration(secs, strconv.Quote(s))
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use 500ms, 2m, 1h30m or a number of seconds)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	return Duration(d), nil
}

// secondsDuration converts a number of seconds; shown is how the number
// appears in error messages.
func secondsDuration(secs float64, shown string) (Duration, error) {
	switch {
	case math.IsNaN(secs) || math.IsInf(secs, 0):
		return 0, fmt.Errorf("invalid duration %s", shown)
	case secs < 0:
		return 0, fmt.Errorf("negative duration %s", shown)
	case secs*1e9 >= math.MaxInt64:
		return 0, fmt.Errorf("duration %s is out of range", shown)
	}
	return Duration(math.Round(secs * 1e9)), nil
}
