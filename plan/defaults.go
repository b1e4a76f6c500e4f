package plan

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Defaults that the plan document promises.
const (
	DefaultTimeout      = Duration(10 * time.Second)
	DefaultGracefulStop = Duration(30 * time.Second)
	DefaultInterval     = Duration(time.Second)

	// The open model's VU ceiling defaults to twice the peak rate, at
	// least minMaxVUs and at most capMaxVUs.
	minMaxVUs = 1000
	capMaxVUs = 20000
)

// ApplyDefaults fills every setting the plan leaves out:
//
//   - target.timeout 10s; system.interval 1s; database driver postgres
//     (target.max_body stays 0, which the runner reads as DefaultMaxBody,
//     so that plans written before it keep their hash)
//   - scenario weight 1 (an explicit `weight: 0` in a plan file is kept)
//   - step method GET, or POST when a body or json is set (upper-cased);
//     step name "METHOD path"; sql.db the only database when just one is
//     declared
//   - feeder mode sequential
//   - load.model inferred: open when rate or stages with rate are set,
//     else closed; load.arrivals constant; load.graceful_stop 30s
//   - open model: max_vus max(1000, 2×peak rate) capped at 20000,
//     pre_allocated_vus min(max_vus, max(10, peak rate/10))
//   - closed model without vus and stages: vus 1 (an explicit `vus: 0`
//     or `rate: 0` is kept, for Validate to refuse)
//   - loads: each as load above (load itself is left empty); a single
//     load without scenarios runs every scenario
//
// It is idempotent and leaves problems for Validate to report. Relative
// feeder files are resolved against the plan file's directory by Parse,
// which knows where the file was; for a plan built in Go they stay as
// given.
func (p *Plan) ApplyDefaults() {
	if p.Target.Timeout == 0 {
		p.Target.Timeout = DefaultTimeout
	}
	for i, s := range p.Scenarios {
		if s == nil {
			continue
		}
		sp := indexPath("scenarios", i)
		if s.Weight == 0 && !p.given(fieldPath(sp, "weight")) {
			s.Weight = 1
		}
		for _, st := range s.Steps {
			if st != nil {
				p.stepDefaults(st)
			}
		}
	}
	for _, f := range p.Data {
		if f != nil && f.Mode == "" {
			f.Mode = "sequential"
		}
	}
	for _, db := range p.Databases {
		if db != nil && db.Driver == "" {
			db.Driver = "postgres"
		}
	}
	if p.System != nil && p.System.Interval == 0 {
		p.System.Interval = DefaultInterval
	}
	if p.Loads != nil {
		p.loadsDefaults()
		return
	}
	// An explicit `vus: 0` or `rate: 0` is not made into one VU: Validate
	// refuses it, as it would send nothing.
	p.Load.applyDefaults(p.given("load.vus") || p.given("load.rate"))
}

func (p *Plan) stepDefaults(st *Step) {
	if st.streamKind() != "" {
		if st.Name == "" {
			st.Name = streamStepName(st)
		}
		return
	}
	if st.SQL != nil {
		if st.SQL.DB == "" && len(p.Databases) == 1 {
			for name := range p.Databases {
				st.SQL.DB = name
			}
		}
		if st.Name == "" && st.Path == "" {
			st.Name = sqlStepName(st.SQL)
		}
		return
	}
	st.Method = strings.ToUpper(strings.TrimSpace(st.Method))
	if st.Method == "" {
		st.Method = "GET"
		if st.Body != "" || st.JSON != nil || len(st.Form) > 0 || st.Multipart != nil || st.BodyFile != "" {
			st.Method = "POST"
		}
	}
	if st.Name == "" && st.Path != "" {
		st.Name = st.Method + " " + st.Path
	}
}

// sqlStepName names an unnamed SQL step after its statement.
func sqlStepName(q *SQLStep) string {
	stmt := q.Query
	switch {
	case stmt == "" && len(q.Tx) > 0:
		stmt = "tx: " + q.Tx[0]
	case stmt == "" && q.Commit:
		stmt = "COMMIT"
	case stmt == "" && q.Rollback:
		stmt = "ROLLBACK"
	case stmt == "" && q.Begin:
		stmt = "BEGIN"
	}
	stmt = shorten(strings.Join(strings.Fields(stmt), " "))
	if stmt == "" {
		return ""
	}
	return "SQL " + stmt
}

func (l *LoadSpec) applyDefaults(levelGiven bool) {
	if l.Model == "" {
		l.Model = "closed"
		if l.peakRate() > 0 || slices.ContainsFunc(l.Stages, func(s *Stage) bool { return s != nil && s.Rate != nil }) {
			l.Model = "open"
		}
	}
	if l.Arrivals == "" {
		l.Arrivals = "constant"
	}
	if l.GracefulStop == 0 {
		l.GracefulStop = DefaultGracefulStop
	}
	switch l.Model {
	case "open":
		peak := l.peakRate()
		if l.MaxVUs == 0 {
			l.MaxVUs = DefaultMaxVUs(peak)
		}
		if l.PreVUs == 0 {
			l.PreVUs = min(l.MaxVUs, max(10, ceilInt(peak/10)))
		}
	case "closed":
		if l.VUs == 0 && len(l.Stages) == 0 && !levelGiven {
			l.VUs = 1
		}
	}
}

// peakRate is the highest arrival rate the load reaches.
func (l *LoadSpec) peakRate() float64 {
	peak := l.Rate
	for _, s := range l.Stages {
		if s != nil && s.Rate != nil {
			peak = max(peak, *s.Rate)
		}
	}
	return max(peak, 0)
}

// DefaultMaxVUs is the open model's max_vus when a load does not set it:
// twice its peak rate, at least minMaxVUs and at most capMaxVUs.
func DefaultMaxVUs(peak float64) int {
	return min(capMaxVUs, max(minMaxVUs, ceilInt(2*peak)))
}

// ceilInt rounds up, saturating instead of overflowing.
func ceilInt(f float64) int {
	switch {
	case math.IsNaN(f) || f <= 0:
		return 0
	case f >= math.MaxInt32:
		return math.MaxInt32
	}
	return int(math.Ceil(f))
}

// HasLoad reports whether the plan's load block says how long to run:
// a duration, stages or an iteration count. A plan made for the test
// protocol alone may leave it out.
func (p *Plan) HasLoad() bool {
	if p.Loads != nil {
		return len(p.Loads) > 0 // each is checked to have a length
	}
	l := p.Load
	return l.Duration > 0 || len(l.Stages) > 0 || l.Iterations > 0
}
