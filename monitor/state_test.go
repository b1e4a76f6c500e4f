package monitor

import (
	"strings"
	"testing"
	"time"
)

// A sequence of checks gives one alert when an incident opens, a
// reminder each time remind passes while it lasts, and one when it
// resolves; healthy checks and failing checks inside remind say nothing.
func TestStep(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	remind := 10 * time.Minute
	checks := []struct {
		at      time.Duration
		healthy bool
		want    string // the alert's status, "" none
		why     string
	}{
		{0, true, "", "healthy: nothing to say"},
		{5 * time.Minute, false, Firing, "the first failure opens an incident"},
		{10 * time.Minute, false, "", "still failing, within remind"},
		{14 * time.Minute, false, "", "still within remind of the first alert"},
		{15 * time.Minute, false, Reminder, "remind has passed since the alert"},
		{20 * time.Minute, false, "", "within remind of the reminder"},
		{25 * time.Minute, false, Reminder, "and again"},
		{30 * time.Minute, true, Resolved, "a healthy check resolves it, once"},
		{35 * time.Minute, true, "", "healthy again: nothing"},
		{40 * time.Minute, false, Firing, "a new incident"},
		{45 * time.Minute, true, Resolved, "resolved"},
	}
	var s State
	var got []string
	for i, c := range checks {
		run := "run" + string(rune('a'+i))
		var a *Alert
		s, a = Step(s, c.healthy, "p95 too high", run, t0.Add(c.at), remind)
		status := ""
		if a != nil {
			status = a.Status
			got = append(got, status)
		}
		if status != c.want {
			t.Errorf("check %d (%s): alert %q, want %q", i, c.why, status, c.want)
		}
		if a != nil && a.Status != Resolved && a.Incident == "" {
			t.Errorf("check %d: alert without an incident", i)
		}
	}
	if s.Checks != int64(len(checks)) || s.Failures != 7 || s.Alerts != int64(len(got)) || s.Open {
		t.Errorf("final state %+v after alerts %s", s, strings.Join(got, ","))
	}
	// No reminders at all with remind 0.
	s = State{}
	n := 0
	for i := 0; i < 10; i++ {
		var a *Alert
		if s, a = Step(s, false, "down", "r", t0.Add(time.Duration(i)*time.Hour), 0); a != nil {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d alerts over 10 failed hours without reminders, want 1", n)
	}
}
