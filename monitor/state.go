package monitor

import "time"

// State is what a monitor remembers of one plan between checks, and
// across its own restarts (kept in the store after every check).
type State struct {
	// Open is set while an incident lasts: from the first failed check
	// to the next healthy one.
	Open     bool      `json:"open"`
	Incident string    `json:"incident,omitempty"` // the id of the run that opened it
	Since    time.Time `json:"since,omitempty"`
	Reason   string    `json:"reason,omitempty"` // why the latest failed check failed
	// LastAlert is when the incident was last alerted (opened or
	// reminded).
	LastAlert time.Time `json:"last_alert,omitempty"`
	Reminders int       `json:"reminders,omitempty"`

	Checks    int64     `json:"checks"`
	Failures  int64     `json:"failures"`
	Alerts    int64     `json:"alerts"`
	LastCheck time.Time `json:"last_check,omitempty"`
	LastRun   string    `json:"last_run,omitempty"`
	Healthy   bool      `json:"healthy"`
}

// Alert statuses.
const (
	Firing   = "firing"   // an incident began
	Reminder = "reminder" // it still lasts, remind after a while
	Resolved = "resolved" // a check passed again
)

// Alert is one message about an incident.
type Alert struct {
	Status    string    `json:"status"`
	Plan      string    `json:"plan"`
	Target    string    `json:"target,omitempty"`
	Incident  string    `json:"incident"`
	Since     time.Time `json:"since"`
	At        time.Time `json:"at"`
	Reason    string    `json:"reason,omitempty"`
	Run       string    `json:"run_id,omitempty"`
	P95MS     float64   `json:"p95_ms"`
	ErrorRate float64   `json:"error_rate"`
	RPS       float64   `json:"rps"`
}

// Step is the monitor's one rule, a pure function: the state after a
// check at now that was healthy or not (reason says why not; run names
// the check's run), and the alert it calls for, if any. An incident is
// alerted once when it opens, again when remind has passed since its
// last alert, and once when it resolves.
func Step(s State, healthy bool, reason, run string, now time.Time, remind time.Duration) (State, *Alert) {
	s.Checks++
	s.LastCheck, s.LastRun, s.Healthy = now, run, healthy
	if !healthy {
		s.Failures++
		s.Reason = reason
	}
	mk := func(status string) *Alert {
		s.Alerts++
		return &Alert{Status: status, Incident: s.Incident, Since: s.Since, At: now, Reason: s.Reason, Run: run}
	}
	switch {
	case !healthy && !s.Open:
		s.Open, s.Incident, s.Since, s.LastAlert, s.Reminders = true, run, now, now, 0
		if s.Incident == "" {
			s.Incident = now.UTC().Format("20060102-150405")
		}
		return s, mk(Firing)
	case !healthy && remind > 0 && now.Sub(s.LastAlert) >= remind:
		s.LastAlert = now
		s.Reminders++
		return s, mk(Reminder)
	case healthy && s.Open:
		a := mk(Resolved)
		s.Open, s.Incident, s.Since, s.Reason, s.LastAlert, s.Reminders = false, "", time.Time{}, "", time.Time{}, 0
		return s, a
	}
	return s, nil
}
