package plan

import (
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Validate checks the meaning of the whole plan and reports every problem
// at once as a *ValidationError (nil when the plan is sound). It works on
// plans built from flags as well as decoded ones; call ApplyDefaults first,
// as Parse does. It fills Metric, Op and Value of every threshold.
func (p *Plan) Validate() error {
	c := &checker{p: p}
	c.target()
	c.feeders()
	c.scenarios()
	c.load()
	c.thresholds()
	c.system()
	c.tests()
	c.databases()
	c.benchmarks()
	c.monitor()
	c.distributed()
	c.bounds()
	if len(c.problems) == 0 {
		return nil
	}
	sortProblems(c.problems)
	return &ValidationError{Problems: c.problems}
}

// checker collects the problems of one Validate call.
type checker struct {
	p        *Plan
	problems []Problem
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, c.p.Problem(path, format, args...))
}

// oneOf checks an enumerated setting; "" is allowed (defaults fill it).
func (c *checker) oneOf(path, what, value string, allowed ...string) {
	if value != "" && !slices.Contains(allowed, value) {
		c.add(path, "unknown %s %q (use %s)", what, value, orList(allowed))
	}
}

// nonNegative checks counts that must not be below zero.
func (c *checker) nonNegative(path string, v float64) {
	if v < 0 || math.IsNaN(v) {
		c.add(path, "must be ≥ 0, got %v", v)
	}
}

// nonNegativeDuration checks durations that must not be below zero (only
// plans built in Go can have them; decoding refuses negative durations).
func (c *checker) nonNegativeDuration(path string, d Duration) {
	if d < 0 {
		c.add(path, "must be ≥ 0, got %v", d.D())
	}
}

func orList(words []string) string {
	if len(words) <= 2 {
		return strings.Join(words, " or ")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// checkHTTPURL reports a URL that is not absolute http or https. Values
// with ${ENV} or {{ }} are resolved later and are not checked here.
func (c *checker) checkHTTPURL(path, raw string) {
	if strings.Contains(raw, "${") || strings.Contains(raw, "{{") {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.add(path, "must be an absolute http:// or https:// URL, got %q", raw)
		return
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			c.add(path, "port %s is not a TCP port (use 1 to 65535)", port)
		}
	}
}

// isRelative reports whether a step path needs target.base_url.
func isRelative(path string) bool {
	lower := strings.ToLower(path)
	return !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") &&
		!strings.HasPrefix(path, "{{") && !strings.HasPrefix(path, "${")
}

const httpMethods = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"

func isHTTPMethod(m string) bool {
	switch m {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
		return true
	}
	return false
}

func (c *checker) target() {
	t := &c.p.Target
	if t.BaseURL != "" {
		c.checkHTTPURL("target.base_url", t.BaseURL)
	} else if rel := c.firstRelativeStep(); rel != "" {
		c.add("target.base_url", "required: %s is a relative path", rel)
	}
	if t.Timeout <= 0 {
		c.add("target.timeout", "must be > 0")
	}
	c.httpTarget()
}

// firstRelativeStep returns `scenarios[i].steps[j].path "/x"` for the first
// HTTP step whose path is relative, or "".
func (c *checker) firstRelativeStep() string {
	for i, s := range c.p.Scenarios {
		if s == nil {
			continue
		}
		for j, st := range s.Steps {
			if st != nil && st.Path != "" && st.SQL == nil && isRelative(st.Path) {
				return fmt.Sprintf("%s %q", fieldPath(indexPath(fieldPath(indexPath("scenarios", i), "steps"), j), "path"), st.Path)
			}
		}
	}
	return ""
}

func (c *checker) feeders() {
	for _, name := range sortedKeys(c.p.Data) {
		fp := keyPath("data", name)
		f := c.p.Data[name]
		if f == nil {
			c.add(fp, "empty feeder: set file")
			continue
		}
		if f.File == "" {
			c.add(fieldPath(fp, "file"), "required")
		}
		c.oneOf(fieldPath(fp, "mode"), "mode", f.Mode, "sequential", "random", "unique")
	}
}

func (c *checker) scenarios() {
	p := c.p
	if len(p.Scenarios) == 0 {
		c.add("scenarios", "at least one scenario is required")
		return
	}
	names := map[string]string{}
	positive, negative := false, false
	for i, s := range p.Scenarios {
		sp := indexPath("scenarios", i)
		if s == nil {
			c.add(sp, "empty scenario")
			continue
		}
		switch {
		case s.Name == "":
			c.add(fieldPath(sp, "name"), "required")
		case strings.Contains(s.Name, "/"):
			c.add(fieldPath(sp, "name"), `must not contain "/" (thresholds scope steps as "scenario/step")`)
		case names[s.Name] != "":
			c.add(fieldPath(sp, "name"), "duplicate scenario name %q (also %s)", s.Name, names[s.Name])
		default:
			names[s.Name] = sp
		}
		switch {
		case s.Weight < 0:
			c.add(fieldPath(sp, "weight"), "must be ≥ 0, got %d", s.Weight)
			negative = true
		case s.Weight > 0:
			positive = true
		}
		c.think(fieldPath(sp, "think"), s.Think)
		if len(s.Steps) == 0 {
			c.add(fieldPath(sp, "steps"), "at least one step is required")
		}
		for j, st := range s.Steps {
			c.step(indexPath(fieldPath(sp, "steps"), j), st)
		}
		c.wsScenario(sp, s)
	}
	if !positive && !negative {
		c.add("scenarios", "every scenario has weight 0; at least one must be > 0")
	}
}

func (c *checker) think(path string, t *Think) {
	if t == nil {
		return
	}
	c.nonNegativeDuration(fieldPath(path, "min"), t.Min)
	c.nonNegativeDuration(fieldPath(path, "max"), t.Max)
	if t.Max < t.Min {
		c.add(fieldPath(path, "max"), "must be ≥ min (%v)", t.Min.D())
	}
}

func (c *checker) step(sp string, st *Step) {
	if st == nil {
		c.add(sp, "empty step: set path (HTTP request), sql (database query), ws (WebSocket) or grpc (gRPC call)")
		return
	}
	if kind := st.streamKind(); kind != "" {
		c.streamStep(sp, st, kind)
		c.nonNegativeDuration(fieldPath(sp, "timeout"), st.Timeout)
		c.think(fieldPath(sp, "think"), st.Think)
		return
	}
	isHTTP, isSQL := st.Path != "", st.SQL != nil
	switch {
	case isHTTP && isSQL:
		c.add(sp, "set either path (HTTP request) or sql (database query), not both")
	case !isHTTP && !isSQL && !c.p.failed(fieldPath(sp, "path")) && !c.p.failed(fieldPath(sp, "sql")):
		c.add(sp, "set path (HTTP request), sql (database query), ws (WebSocket) or grpc (gRPC call)")
	case st.Name == "" && (isHTTP || isSQL && sqlStepName(st.SQL) != ""):
		// An SQL step without a statement is reported below; its missing
		// name would only repeat that.
		c.add(fieldPath(sp, "name"), "required")
	}
	if st.Body != "" && st.JSON != nil {
		c.add(fieldPath(sp, "body"), "set body or json, not both")
	}
	if isHTTP && !isSQL && !isHTTPMethod(st.Method) {
		c.add(fieldPath(sp, "method"), "unknown method %q (use %s)", st.Method, httpMethods)
	}
	if isSQL && !isHTTP {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"method", st.Method != ""},
			{"headers", len(st.Headers) > 0},
			{"query", len(st.Query) > 0},
			{"body", st.Body != ""},
			{"json", st.JSON != nil},
		} {
			if f.set {
				c.add(fieldPath(sp, f.name), "applies to HTTP steps only (this step runs sql)")
			}
		}
		c.sql(fieldPath(sp, "sql"), st.SQL)
	}
	c.httpStep(sp, st, isHTTP && !isSQL)
	c.nonNegativeDuration(fieldPath(sp, "timeout"), st.Timeout)
	c.think(fieldPath(sp, "think"), st.Think)
	for _, name := range sortedKeys(st.Extract) {
		c.extractor(keyPath(fieldPath(sp, "extract"), name), st.Extract[name], isSQL)
	}
	c.check(fieldPath(sp, "check"), st.Check, isSQL)
}

func (c *checker) sql(path string, q *SQLStep) {
	dbPath := fieldPath(path, "db")
	declared := sortedKeys(c.p.Databases)
	switch {
	case q.DB == "" && len(declared) == 0:
		c.add(dbPath, "required, and no databases are declared under databases")
	case q.DB == "":
		c.add(dbPath, "required (declared: %s)", strings.Join(declared, ", "))
	case c.p.Databases[q.DB] == nil && len(declared) == 0:
		c.add(dbPath, "unknown database %q: no databases are declared under databases", q.DB)
	case c.p.Databases[q.DB] == nil:
		c.add(dbPath, "unknown database %q (declared: %s)", q.DB, strings.Join(declared, ", "))
	}
	switch {
	case q.Query != "" && len(q.Tx) > 0:
		c.add(path, "set query or tx, not both")
	case q.Query == "" && len(q.Tx) == 0 && !q.Begin && !q.Commit && !q.Rollback:
		c.add(fieldPath(path, "query"), "required (or tx, or begin/commit/rollback)")
	}
	if q.Commit && q.Rollback {
		c.add(path, "set commit or rollback, not both")
	}
}

func (c *checker) extractor(path string, ex *Extractor, isSQL bool) {
	if ex == nil {
		c.add(path, "empty extractor: set one of json, regex, header or column")
		return
	}
	var set []string
	for _, f := range []struct {
		name string
		v    string
	}{{"json", ex.JSON}, {"regex", ex.Regex}, {"header", ex.Header}, {"column", ex.Column}} {
		if f.v != "" || c.p.failed(fieldPath(path, f.name)) {
			set = append(set, f.name)
		}
	}
	switch len(set) {
	case 0:
		c.add(path, "set one of json, regex, header or column")
	case 1:
	default:
		c.add(path, "set only one of json, regex, header or column (found %s)", strings.Join(set, ", "))
	}
	if ex.Column != "" && !isSQL {
		c.add(fieldPath(path, "column"), "applies to sql steps only")
	}
	if ex.Header != "" && isSQL {
		c.add(fieldPath(path, "header"), "applies to HTTP steps only")
	}
	groupPath := fieldPath(path, "group")
	switch {
	case ex.Group < 0:
		c.add(groupPath, "must be ≥ 0, got %d", ex.Group)
	case ex.Group > 0 && ex.Regex == "":
		c.add(groupPath, "applies to regex only")
	}
	if ex.Regex != "" {
		re, err := regexp.Compile(ex.Regex)
		switch {
		case err != nil:
			c.add(fieldPath(path, "regex"), "invalid regex: %v", err)
		case ex.Group > re.NumSubexp():
			c.add(groupPath, "no group %d: the regex has %d capture group(s)", ex.Group, re.NumSubexp())
		}
	}
}

func (c *checker) check(path string, ch *Check, isSQL bool) {
	if ch == nil {
		return
	}
	for i, code := range ch.Status {
		if code < 100 || code > 599 {
			c.add(indexPath(fieldPath(path, "status"), i), "invalid HTTP status %d (use 100 to 599)", code)
		}
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"rows", ch.Rows}, {"min_rows", ch.MinRows}} {
		switch {
		case f.v == nil:
		case !isSQL:
			c.add(fieldPath(path, f.name), "applies to sql steps only")
		case *f.v < 0:
			c.add(fieldPath(path, f.name), "must be ≥ 0, got %d", *f.v)
		}
	}
	for i, jc := range ch.JSON {
		jp := indexPath(fieldPath(path, "json"), i)
		if jc == nil || jc.Path == "" {
			c.add(fieldPath(jp, "path"), "required")
		}
	}
}

func (c *checker) load() {
	switch {
	case c.p.Loads != nil:
		c.loads()
		return
	case c.p.failed("loads"):
		return // the loads were written, wrongly: already reported
	}
	// A plan with a tests: or monitor: block may leave the load to the
	// protocol or the monitor; `stampede run` checks it has one (HasLoad).
	c.loadSpec("load", &c.p.Load, c.p.Tests == nil && c.p.Monitor == nil)
}

// loadSpec checks one load block written at path (`load`, or
// `loads.NAME`); needLength asks for a duration, stages or iterations.
func (c *checker) loadSpec(path string, l *LoadSpec, needLength bool) {
	open := l.Rate != 0 || slices.ContainsFunc(l.Stages, func(s *Stage) bool { return s != nil && s.Rate != nil })
	switch {
	case len(l.Stages) == 0 && l.VUs != 0 && l.Rate != 0:
		c.add(path, "set vus (closed model) or rate (open model), not both")
	case l.Model == "open" && !open:
		c.add(fieldPath(path, "model"), "the open model needs rate or stages with rate")
	case l.Model == "closed" && open:
		c.add(fieldPath(path, "model"), "the closed model takes vus or stages with users, not rate")
	}
	c.oneOf(fieldPath(path, "model"), "model", l.Model, "closed", "open")
	c.nonNegative(fieldPath(path, "vus"), float64(l.VUs))
	if math.IsInf(l.Rate, 0) {
		c.add(fieldPath(path, "rate"), "must be finite")
	}
	c.nonNegative(fieldPath(path, "rate"), l.Rate)
	c.nonNegative(fieldPath(path, "iterations"), float64(l.Iterations))
	c.nonNegativeDuration(fieldPath(path, "graceful_stop"), l.GracefulStop)
	c.nonNegativeDuration(fieldPath(path, "ramp_up"), l.RampUp)
	c.nonNegativeDuration(fieldPath(path, "ramp_down"), l.RampDown)

	if len(l.Stages) == 0 {
		if l.VUs == 0 && l.Rate == 0 && c.p.given(fieldPath(path, "vus")) {
			c.add(fieldPath(path, "vus"), "must be ≥ 1: with no VUs the load would send nothing")
		}
		if l.Rate == 0 && l.VUs == 0 && c.p.given(fieldPath(path, "rate")) {
			c.add(fieldPath(path, "rate"), "must be > 0: at rate 0 the load would send nothing")
		}
		switch {
		case l.Duration < 0:
			c.add(fieldPath(path, "duration"), "must be > 0")
		case l.Duration == 0 && l.Iterations == 0 && needLength:
			c.add(fieldPath(path, "duration"), "required (> 0) unless stages or iterations are set")
		}
	} else {
		for _, f := range []struct {
			name string
			set  bool
		}{{"vus", l.VUs != 0}, {"rate", l.Rate != 0}, {"duration", l.Duration != 0}, {"ramp_up", l.RampUp != 0}, {"ramp_down", l.RampDown != 0}} {
			if f.set {
				c.add(fieldPath(path, f.name), "not used with stages (each stage sets users or rate, ramp_up and duration)")
			}
		}
		c.stages(path, l)
	}

	c.nonNegative(fieldPath(path, "max_vus"), float64(l.MaxVUs))
	c.nonNegative(fieldPath(path, "pre_allocated_vus"), float64(l.PreVUs))
	if l.Model == "open" && l.PreVUs > l.MaxVUs {
		c.add(fieldPath(path, "pre_allocated_vus"), "must be ≤ max_vus (%d), got %d", l.MaxVUs, l.PreVUs)
	}
	if l.Model == "closed" {
		if c.p.given(fieldPath(path, "max_vus")) || c.p.pos == nil && l.MaxVUs != 0 {
			c.add(fieldPath(path, "max_vus"), "applies to the open model only (set rate)")
		}
		if c.p.given(fieldPath(path, "pre_allocated_vus")) || c.p.pos == nil && l.PreVUs != 0 {
			c.add(fieldPath(path, "pre_allocated_vus"), "applies to the open model only (set rate)")
		}
		if l.Arrivals == "poisson" {
			c.add(fieldPath(path, "arrivals"), "applies to the open model only (set rate)")
		}
	}
	c.oneOf(fieldPath(path, "arrivals"), "arrivals", l.Arrivals, "constant", "poisson")
	if l.Network != nil {
		c.network(fieldPath(path, "network"), l.Network)
	}
}

func (c *checker) stages(path string, l *LoadSpec) {
	kind := "" // users or rate, from the first stage that says
	for i, s := range l.Stages {
		sp := indexPath(fieldPath(path, "stages"), i)
		if s == nil {
			c.add(sp, "empty stage: set users or rate, and duration")
			continue
		}
		var k string
		switch {
		case s.Users != nil && s.Rate != nil:
			c.add(sp, "set users (closed model) or rate (open model), not both")
		case s.Users != nil:
			k = "users"
			c.nonNegative(fieldPath(sp, "users"), float64(*s.Users))
		case s.Rate != nil:
			k = "rate"
			if math.IsInf(*s.Rate, 0) {
				c.add(fieldPath(sp, "rate"), "must be finite")
			}
			c.nonNegative(fieldPath(sp, "rate"), *s.Rate)
		case !c.p.failed(fieldPath(sp, "users")) && !c.p.failed(fieldPath(sp, "rate")):
			c.add(sp, "set users (closed model) or rate (open model)")
		}
		switch {
		case k == "":
		case kind == "":
			kind = k
		case k != kind:
			c.add(fieldPath(sp, k), "stages mix users and rate; every stage must set %s like the first", kind)
		}
		c.nonNegativeDuration(fieldPath(sp, "ramp_up"), s.RampUp)
		c.nonNegativeDuration(fieldPath(sp, "duration"), s.Duration)
		if s.RampUp+s.Duration <= 0 {
			c.add(sp, "ramp_up + duration must be > 0")
		}
	}
	idle := true
	for _, s := range l.Stages {
		if s == nil || s.Users == nil && s.Rate == nil || s.Users != nil && *s.Users > 0 || s.Rate != nil && *s.Rate > 0 {
			idle = false
		}
	}
	if idle {
		c.add(fieldPath(path, "stages"), "every stage has %s 0: the load would send nothing", kind)
	}
}

func (c *checker) thresholds() {
	c.thresholdList("thresholds", c.p.Thresholds, nil)
}

// thresholdList checks the thresholds written at path; within, when not
// nil, lists the scenarios their scopes may name (a load's own).
func (c *checker) thresholdList(path string, ths []*Threshold, within []string) {
	for i, t := range ths {
		tp := indexPath(path, i)
		if t == nil {
			c.add(tp, `empty threshold: write it like "p95 < 500ms"`)
			continue
		}
		// Point at expr when it was written as a key (or the plan has no
		// file), at the item when the threshold was a plain string.
		exprPath := tp
		if _, written := c.p.pos[fieldPath(tp, "expr")]; written || c.p.pos == nil {
			exprPath = fieldPath(tp, "expr")
		}
		metric, op, value, err := ParseThreshold(t.Expr)
		if err != nil {
			c.add(exprPath, "%v", err)
		} else {
			t.Metric, t.Op, t.Value = metric, op, value
		}
		if t.Scope != "" {
			c.scope(fieldPath(tp, "scope"), t.Scope, within)
		}
	}
}

// scope checks that a threshold scope names a scenario or "scenario/step"
// (of the scenarios within, when not nil).
func (c *checker) scope(path, scope string, within []string) {
	scName, stepName, hasStep := strings.Cut(scope, "/")
	if within != nil && !slices.Contains(within, scName) {
		c.add(path, "scenario %q is not one this load runs%s", scName, hint(scName, within, "its scenarios"))
		return
	}
	var scenarios []string
	var found *Scenario
	for _, s := range c.p.Scenarios {
		if s != nil && s.Name != "" {
			scenarios = append(scenarios, s.Name)
			if s.Name == scName && found == nil {
				found = s
			}
		}
	}
	if found == nil {
		c.add(path, "unknown scenario %q%s", scName, hint(scName, scenarios, "scenarios"))
		return
	}
	if !hasStep {
		return
	}
	var steps []string
	for _, st := range found.Steps {
		if st != nil && st.Name != "" {
			if st.Name == stepName {
				return
			}
			steps = append(steps, st.Name)
		}
	}
	c.add(path, "unknown step %q in scenario %q%s", stepName, scName, hint(stepName, steps, "steps"))
}

// hint suggests the closest name, or lists the names there are.
func hint(name string, names []string, what string) string {
	if s, ok := closestName(name, names); ok {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	var quoted []string
	for _, n := range names {
		if q := fmt.Sprintf("%q", n); !slices.Contains(quoted, q) {
			quoted = append(quoted, q)
		}
	}
	if len(quoted) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s: %s)", what, strings.Join(quoted, ", "))
}

func (c *checker) system() {
	s := c.p.System
	if s == nil {
		return
	}
	if pr := s.Process; pr != nil {
		n := 0
		for _, f := range []struct {
			name string
			set  bool
		}{{"pid", pr.PID != 0}, {"name", pr.Name != ""}, {"pid_file", pr.PIDFile != ""}} {
			if f.set || c.p.failed(fieldPath("system.process", f.name)) {
				n++
			}
		}
		switch {
		case n == 0:
			c.add("system.process", "set one of pid, name or pid_file")
		case n > 1:
			c.add("system.process", "set only one of pid, name or pid_file")
		}
		if pr.PID < 0 {
			c.add("system.process.pid", "must be > 0, got %d", pr.PID)
		}
	}
	if pm := s.Prometheus; pm != nil {
		if pm.URL == "" {
			c.add("system.prometheus.url", "required")
		} else {
			c.checkHTTPURL("system.prometheus.url", pm.URL)
		}
	}
	if s.Pprof != "" {
		c.checkHTTPURL("system.pprof", s.Pprof)
	}
	c.nonNegativeDuration("system.interval", s.Interval)
	c.nonNegativeDuration("system.cpu_profile", s.CPUProfile)
	c.systemDisk(s.Disk)
}

func (c *checker) tests() {
	t := c.p.Tests
	if t == nil {
		return
	}
	c.oneOf("tests.profile", "profile", t.Profile, "standard", "quick")
	if t.Stress != nil {
		c.oneOf("tests.stress.variant", "variant", t.Stress.Variant, Variants...)
	}
	c.p.checkPool(t.Pool, c.add)
}

func (c *checker) databases() {
	for _, name := range sortedKeys(c.p.Databases) {
		dp := keyPath("databases", name)
		db := c.p.Databases[name]
		if db == nil {
			c.add(dp, "empty database: set dsn")
			continue
		}
		c.oneOf(fieldPath(dp, "driver"), "driver", db.Driver, "postgres", "mysql", "sqlite")
		if db.DSN == "" {
			c.add(fieldPath(dp, "dsn"), "required")
		}
		c.nonNegative(fieldPath(dp, "pool"), float64(db.Pool))
		c.nonNegative(fieldPath(dp, "min_pool"), float64(db.MinPool))
		if db.Pool > 0 && db.MinPool > db.Pool {
			c.add(fieldPath(dp, "min_pool"), "must be ≤ pool (%d), got %d", db.Pool, db.MinPool)
		}
		c.nonNegativeDuration(fieldPath(dp, "timeout"), db.Timeout)
	}
}

func (c *checker) benchmarks() {
	names := map[string]string{}
	for i, b := range c.p.Benchmarks {
		bp := indexPath("benchmarks", i)
		if b == nil {
			c.add(bp, "empty benchmark suite: set name and command or go")
			continue
		}
		switch {
		case b.Name == "":
			c.add(fieldPath(bp, "name"), "required")
		case names[b.Name] != "":
			c.add(fieldPath(bp, "name"), "duplicate benchmark name %q (also %s)", b.Name, names[b.Name])
		default:
			names[b.Name] = bp
		}
		switch {
		case b.Command != "" && b.Go != "":
			c.add(bp, "set command or go, not both")
		case b.Command == "" && b.Go == "" && !c.p.failed(fieldPath(bp, "command")) && !c.p.failed(fieldPath(bp, "go")):
			c.add(bp, "set command (a program to time) or go (a package pattern)")
		}
		if b.Bench != "" && b.Go == "" {
			c.add(fieldPath(bp, "bench"), "applies to go benchmarks only")
		}
		c.oneOf(fieldPath(bp, "level"), "level", b.Level, "micro", "component", "system")
		c.nonNegative(fieldPath(bp, "warmup"), float64(b.Warmup))
		c.nonNegative(fieldPath(bp, "runs"), float64(b.Runs))
		c.nonNegativeDuration(fieldPath(bp, "min_time"), b.MinTime)
	}
}

// sortedKeys returns a map's keys in order, so problems come out the same
// way every time.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func (c *checker) distributed() {
	d := c.p.Distributed
	if d == nil {
		return
	}
	c.oneOf("distributed.on_agent_loss", "policy", d.OnAgentLoss, OnLossContinue, OnLossAbort)
	if d.Heartbeat != 0 && (d.Heartbeat < MinHeartbeat || d.Heartbeat > MaxHeartbeat) {
		c.add("distributed.heartbeat", "%v: want between %v and %v", d.Heartbeat.D(), MinHeartbeat.D(), MaxHeartbeat.D())
	}
}
