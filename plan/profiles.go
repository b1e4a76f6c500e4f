package plan

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The protocol profiles. The standard profile is the full protocol, sized
// for a service in a staging environment (about four hours, two of them
// soak); quick keeps its shape, every phase present, scaled to about
// six minutes against the demo shop, for a first look and for CI.
const (
	ProfileStandard = "standard"
	ProfileQuick    = "quick"
)

// DefaultClosedUsers is the most users of the closed-model capacity
// search (tests.stress.closed) unless tests.stress.closed_users says
// otherwise; MaxClosedUsers bounds what it may say.
const (
	DefaultClosedUsers = 1024
	MaxClosedUsers     = 100000
)

// Stress variants.
const (
	VariantRate     = "rate"     // open model: step the arrival rate
	VariantUsers    = "users"    // closed model: step the virtual users
	VariantPayload  = "payload"  // constant load: step the size of variables.payload
	VariantDatabase = "database" // constant load: step the connection pool
)

// PayloadVariable is the plan variable the payload variant multiplies:
// at level m every `{{ payload }}` expands to the plan's value repeated m
// times.
const PayloadVariable = "payload"

// StandardTests returns the standard profile: every figure the protocol
// uses when a plan's `tests:` block leaves it out.
//
//	cool_down 2m between load tests
//	warmup    10 users for 1m
//	baseline  1, 10 and 50 users, each ramped up over 30s, 1m and 2m
//	          then held 2m, with a 30s pause between levels
//	load      normal 100 users 10m (ramp 2m), peak 500 users 5m (ramp 1m),
//	          spike 1000 users 3m (ramp 30s), volume 200 users 1h (ramp 5m)
//	stress    arrival rate from half the baseline's throughput (10/s
//	          without a baseline) ×1.5 per step up to 100000/s, each step
//	          held 1m after a 15s warm-up; breaks at the plan's p99 and
//	          error-rate SLOs (1s and 1% without them) or when efficiency
//	          falls under half the first step's; 3 bisection probes
//	recovery  within 10% of the pre-stress p99 and error rate for 3
//	          consecutive windows, given up after 5m
//	soak      100 users for 2h (ramp 2m)
//	scale     30s to stabilize, 2m of 50 users per unit per configuration
//	          (no configurations: the phase is skipped)
//	pool      pool sizes 10, 50, 100 and 200 connections, each meeting 200
//	          users for 2m (no database to scale: the phase is skipped)
func StandardTests() *Tests {
	return &Tests{
		Profile:  ProfileStandard,
		CoolDown: Duration(2 * time.Minute),
		Warmup:   &PhaseSpec{Name: "warmup", Users: 10, Duration: Duration(time.Minute)},
		Baseline: &BaselineSpec{Levels: []int{1, 10, 50}, Duration: Duration(2 * time.Minute),
			RampUp: []Duration{Duration(30 * time.Second), Duration(time.Minute), Duration(2 * time.Minute)},
			Pause:  Duration(30 * time.Second)},
		Load: []*PhaseSpec{
			{Name: "normal", Users: 100, Duration: Duration(10 * time.Minute), RampUp: Duration(2 * time.Minute)},
			{Name: "peak", Users: 500, Duration: Duration(5 * time.Minute), RampUp: Duration(time.Minute)},
			{Name: "spike", Users: 1000, Duration: Duration(3 * time.Minute), RampUp: Duration(30 * time.Second)},
			{Name: "volume", Users: 200, Duration: Duration(time.Hour), RampUp: Duration(5 * time.Minute)},
		},
		Stress: &StressSpec{
			Variant: VariantRate, Factor: 1.5, Max: 100000,
			Hold: Duration(time.Minute), Warmup: Duration(15 * time.Second),
			Bisect: 6, Precision: 0.05, Budget: Duration(15 * time.Minute), Efficiency: 0.5,
			ClosedUsers: DefaultClosedUsers,
		},
		Recovery: &RecoverySpec{Limit: Duration(5 * time.Minute), Tolerance: 0.10, Windows: 3},
		Soak:     &PhaseSpec{Name: "soak", Users: 100, Duration: Duration(2 * time.Hour), RampUp: Duration(2 * time.Minute)},
		Scalability: &ScalabilitySpec{
			Stabilize: Duration(30 * time.Second), Duration: Duration(2 * time.Minute), UsersPerUnit: 50,
		},
		Pool: &PoolSpec{Sizes: []int{10, 50, 100, 200}, Users: 200, Duration: Duration(2 * time.Minute)},
	}
}

// QuickTests returns the quick profile: the standard protocol's shape in
// about six minutes (users divided by 5 in the load tests, every
// duration cut to seconds, stress steps doubling).
//
//	cool_down 30s; warmup 5 users 5s; baseline 1, 10, 50 users 5s each
//	          (ramp 1s, 2s, 3s; 2s pause between levels)
//	load      normal 20 users 10s (ramp 3s), peak 50 8s (ramp 2s),
//	          spike 100 5s (ramp 1s), volume 30 15s (ramp 3s)
//	stress    ×2 per step up to 5000/s, hold 4s after a 1s warm-up, then up
//	          to 6 probes until within 5% or for 1m
//	recovery  limit 30s; soak 20 users 30s (ramp 3s)
//	scale     2s to stabilize, 10s of 10 users per unit
//	pool      pool sizes 10 and 50, each meeting 50 users for 5s
func QuickTests() *Tests {
	return &Tests{
		Profile:  ProfileQuick,
		CoolDown: Duration(30 * time.Second),
		Warmup:   &PhaseSpec{Name: "warmup", Users: 5, Duration: Duration(5 * time.Second)},
		Baseline: &BaselineSpec{Levels: []int{1, 10, 50}, Duration: Duration(5 * time.Second),
			RampUp: []Duration{Duration(time.Second), Duration(2 * time.Second), Duration(3 * time.Second)},
			Pause:  Duration(2 * time.Second)},
		Load: []*PhaseSpec{
			{Name: "normal", Users: 20, Duration: Duration(10 * time.Second), RampUp: Duration(3 * time.Second)},
			{Name: "peak", Users: 50, Duration: Duration(8 * time.Second), RampUp: Duration(2 * time.Second)},
			{Name: "spike", Users: 100, Duration: Duration(5 * time.Second), RampUp: Duration(time.Second)},
			{Name: "volume", Users: 30, Duration: Duration(15 * time.Second), RampUp: Duration(3 * time.Second)},
		},
		Stress: &StressSpec{
			Variant: VariantRate, Factor: 2, Max: 5000,
			Hold: Duration(4 * time.Second), Warmup: Duration(time.Second),
			Bisect: 6, Precision: 0.05, Budget: Duration(time.Minute), Efficiency: 0.5,
			ClosedUsers: DefaultClosedUsers,
		},
		Recovery: &RecoverySpec{Limit: Duration(30 * time.Second), Tolerance: 0.10, Windows: 3},
		Soak:     &PhaseSpec{Name: "soak", Users: 20, Duration: Duration(30 * time.Second), RampUp: Duration(3 * time.Second)},
		Scalability: &ScalabilitySpec{
			Stabilize: Duration(2 * time.Second), Duration: Duration(10 * time.Second), UsersPerUnit: 10,
		},
		Pool: &PoolSpec{Sizes: []int{10, 50}, Users: 50, Duration: Duration(5 * time.Second)},
	}
}

// ProfileTests returns a fresh copy of the named profile's tests.
func ProfileTests(name string) (*Tests, bool) {
	switch name {
	case ProfileStandard, "":
		return StandardTests(), true
	case ProfileQuick:
		return QuickTests(), true
	}
	return nil, false
}

// Protocol resolves the plan's `tests:` block into the complete protocol:
// the profile (profile when not empty, as the --profile flag gives it,
// else tests.profile, else standard) supplies every setting the block
// leaves out. Load tests merge by name: an entry named like one of the
// profile's (normal, peak, spike, volume) changes only what it sets, a
// new name adds a test, and `skip: true` drops one. A zero written in the
// file (cool_down: 0s, warmup: 0s, bisect: 0, tolerance: 0, ramp_up: 0s)
// is kept; a zero left out is the profile's value. The plan itself is not
// changed. Every problem is reported at once, as a *ValidationError.
func (p *Plan) Protocol(profile string) (*Tests, error) {
	user := p.Tests
	if user == nil {
		user = &Tests{}
	}
	name := profile
	if name == "" {
		name = user.Profile
	}
	base, ok := ProfileTests(name)
	if !ok {
		path := "tests.profile"
		if profile != "" {
			path = ""
		}
		return nil, &ValidationError{Problems: []Problem{p.Problem(path, "unknown profile %q (use standard or quick)", name)}}
	}
	m := merger{p: p}
	t := base
	m.dur(&t.CoolDown, user.CoolDown, "tests.cool_down")
	if user.Warmup != nil {
		m.phase(t.Warmup, user.Warmup, "tests.warmup")
	}
	if u := user.Baseline; u != nil {
		if len(u.Levels) > 0 {
			t.Baseline.Levels = slices.Clone(u.Levels)
		}
		m.dur(&t.Baseline.Duration, u.Duration, "tests.baseline.duration")
		if u.RampUp != nil {
			t.Baseline.RampUp = slices.Clone(u.RampUp)
		}
		m.dur(&t.Baseline.Pause, u.Pause, "tests.baseline.pause")
		t.Baseline.Skip = u.Skip
	}
	loadPaths := make([]string, len(t.Load)) // where each load test was written
	for i := range loadPaths {
		loadPaths[i] = "tests.load"
	}
	for i, u := range user.Load {
		path := fmt.Sprintf("tests.load[%d]", i)
		if u == nil {
			continue
		}
		j := slices.IndexFunc(t.Load, func(b *PhaseSpec) bool { return b.Name == u.Name })
		if j < 0 || u.Name == "" {
			c := *u
			t.Load = append(t.Load, &c)
			loadPaths = append(loadPaths, path)
			continue
		}
		m.phase(t.Load[j], u, path)
		loadPaths[j] = path
	}
	if u := user.Stress; u != nil {
		s, path := t.Stress, "tests.stress"
		m.str(&s.Variant, u.Variant)
		m.float(&s.Start, u.Start, path+".start")
		m.float(&s.Step, u.Step, path+".step")
		m.float(&s.Factor, u.Factor, path+".factor")
		if u.Step > 0 && u.Factor == 0 {
			s.Factor = 0 // a step written alone means adding, not the profile's factor
		}
		m.float(&s.Max, u.Max, path+".max")
		m.dur(&s.Hold, u.Hold, path+".hold")
		m.dur(&s.Warmup, u.Warmup, path+".warmup")
		m.dur(&s.P99, u.P99, path+".p99")
		m.float(&s.ErrorRate, u.ErrorRate, path+".error_rate")
		m.int(&s.Bisect, u.Bisect, path+".bisect")
		m.float(&s.Precision, u.Precision, path+".precision")
		m.dur(&s.Budget, u.Budget, path+".budget")
		m.int(&s.ClosedUsers, u.ClosedUsers, path+".closed_users")
		s.Closed = u.Closed
		m.float(&s.Efficiency, u.Efficiency, path+".efficiency")
		m.int(&s.MaxVUs, u.MaxVUs, path+".max_vus")
		m.int(&s.Users, u.Users, path+".users")
		m.float(&s.Rate, u.Rate, path+".rate")
		s.Network = u.Network
		m.mergeResourceStress(s, u, path)
		s.Skip = u.Skip
	}
	if u := user.Recovery; u != nil {
		r, path := t.Recovery, "tests.recovery"
		m.dur(&r.Limit, u.Limit, path+".limit")
		m.float(&r.Tolerance, u.Tolerance, path+".tolerance")
		m.int(&r.Windows, u.Windows, path+".windows")
		r.Skip = u.Skip
	}
	if user.Soak != nil {
		m.phase(t.Soak, user.Soak, "tests.soak")
	}
	if u := user.Scalability; u != nil {
		s, path := t.Scalability, "tests.scalability"
		m.str(&s.Apply, u.Apply)
		m.str(&s.Revert, u.Revert)
		m.dur(&s.Stabilize, u.Stabilize, path+".stabilize")
		m.dur(&s.Duration, u.Duration, path+".duration")
		if len(u.Configs) > 0 {
			s.Configs = make([]map[string]string, len(u.Configs))
			for i, c := range u.Configs {
				s.Configs[i] = make(map[string]string, len(c))
				for k, v := range c {
					s.Configs[i][k] = v
				}
			}
		}
		if u.UsersPerUnit > 0 || u.RatePerUnit > 0 {
			s.UsersPerUnit, s.RatePerUnit = u.UsersPerUnit, u.RatePerUnit
		}
		m.str(&s.Unit, u.Unit)
		s.Skip = u.Skip
		if in := u.Instances; in != nil {
			c := *in
			c.Count = slices.Clone(in.Count)
			s.Instances = &c
			s.Unit = InstancesUnit
			s.Configs = nil
			for _, n := range c.Count {
				s.Configs = append(s.Configs, map[string]string{InstancesUnit: strconv.Itoa(n)})
			}
		}
	}
	if u := user.Pool; u != nil {
		s := t.Pool
		m.str(&s.DB, u.DB)
		if len(u.Sizes) > 0 {
			s.Sizes = slices.Clone(u.Sizes)
		}
		m.dur(&s.Duration, u.Duration, "tests.pool.duration")
		if u.Users > 0 || u.Rate > 0 {
			s.Users, s.Rate = u.Users, u.Rate
		}
		s.Skip = u.Skip
	}
	if err := p.checkProtocol(t, loadPaths); err != nil {
		return nil, err
	}
	return t, nil
}

// merger lays the settings a plan wrote over a profile's.
type merger struct{ p *Plan }

func (m merger) dur(dst *Duration, v Duration, path string) {
	if v != 0 || m.p.given(path) {
		*dst = v
	}
}

func (m merger) float(dst *float64, v float64, path string) {
	if v != 0 || m.p.given(path) {
		*dst = v
	}
}

func (m merger) int(dst *int, v int, path string) {
	if v != 0 || m.p.given(path) {
		*dst = v
	}
}

func (m merger) str(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// phase lays u over b. Setting users clears the profile's rate and the
// other way round, so a phase never has both.
func (m merger) phase(b, u *PhaseSpec, path string) {
	if u.Name != "" {
		b.Name = u.Name
	}
	if u.Users > 0 || u.Rate > 0 {
		b.Users, b.Rate = u.Users, u.Rate
	}
	m.dur(&b.Duration, u.Duration, path+".duration")
	m.dur(&b.RampUp, u.RampUp, path+".ramp_up")
	if u.Network != nil {
		b.Network = u.Network
	}
	b.Skip = u.Skip
}

// checkProtocol reports every problem of a resolved protocol.
// loadPaths[i] is where t.Load[i] was written.
func (p *Plan) checkProtocol(t *Tests, loadPaths []string) error {
	var probs []Problem
	add := func(path, format string, args ...any) {
		probs = append(probs, p.Problem(path, format, args...))
	}
	nonNeg := func(path string, v float64) {
		if v < 0 || math.IsNaN(v) {
			add(path, "must be ≥ 0, got %v", v)
		}
	}
	phase := func(path string, s *PhaseSpec) {
		if s.Skip {
			return
		}
		nonNeg(path+".users", float64(s.Users))
		nonNeg(path+".rate", s.Rate)
		nonNeg(path+".ramp_up", float64(s.RampUp))
		switch {
		case s.Users > 0 && s.Rate > 0:
			add(path, "set users (closed model) or rate (open model), not both")
		case s.Users <= 0 && s.Rate <= 0:
			add(path, "set users or rate")
		}
		if s.Duration <= 0 {
			add(path+".duration", "must be > 0")
		}
		if s.Network != nil {
			p.checkNetwork(path+".network", s.Network, add)
		}
	}
	nonNeg("tests.cool_down", float64(t.CoolDown))
	phase("tests.warmup", t.Warmup)
	if b := t.Baseline; !b.Skip {
		if len(b.Levels) == 0 {
			add("tests.baseline.levels", "give at least one user level")
		}
		for i, l := range b.Levels {
			if l < 1 {
				add(indexPath("tests.baseline.levels", i), "must be ≥ 1 user, got %d", l)
			}
		}
		if b.Duration <= 0 {
			add("tests.baseline.duration", "must be > 0")
		}
		if len(b.RampUp) > len(b.Levels) && len(b.Levels) > 0 {
			add("tests.baseline.ramp_up", "%d ramp-ups for %d levels: give one per level at most (the last serves the levels after it)", len(b.RampUp), len(b.Levels))
		}
		for i, r := range b.RampUp {
			nonNeg(indexPath("tests.baseline.ramp_up", i), float64(r))
		}
		nonNeg("tests.baseline.pause", float64(b.Pause))
	}
	names := map[string]bool{}
	for i, l := range t.Load {
		path := loadPaths[i]
		if l.Name == "" {
			add(fieldPath(path, "name"), "required")
		} else if names[l.Name] {
			add(fieldPath(path, "name"), "duplicate load test %q", l.Name)
		}
		names[l.Name] = true
		phase(path, l)
	}
	if s := t.Stress; !s.Skip {
		path := "tests.stress"
		if !slices.Contains(Variants, s.Variant) {
			add(path+".variant", "unknown variant %q (use %s)", s.Variant, strings.Join(Variants, ", "))
		}
		p.checkNetworkStress(path, s, add)
		p.checkResourceStress(s, add)
		nonNeg(path+".start", s.Start)
		nonNeg(path+".step", s.Step)
		nonNeg(path+".factor", s.Factor)
		if s.Factor <= 1 && s.Step <= 0 {
			add(path, "set factor (> 1, multiply each step) or step (> 0, add to each step)")
		}
		if s.Max <= 0 || (s.Start > 0 && s.Max <= s.Start) {
			add(path+".max", "must be above start (%v), got %v", s.Start, s.Max)
		}
		if s.Hold < Duration(time.Second) {
			add(path+".hold", "must be at least 1s, got %s", time.Duration(s.Hold))
		}
		nonNeg(path+".warmup", float64(s.Warmup))
		nonNeg(path+".p99", float64(s.P99))
		if s.ErrorRate < 0 || s.ErrorRate > 1 {
			add(path+".error_rate", "must be a fraction from 0 to 1, got %v", s.ErrorRate)
		}
		nonNeg(path+".bisect", float64(s.Bisect))
		if s.Precision < 0 || s.Precision >= 1 {
			add(path+".precision", "must be a fraction below 1 (0.05: within 5%%), got %v", s.Precision)
		}
		nonNeg(path+".budget", float64(s.Budget))
		if s.Closed && s.Variant != VariantRate {
			add(path+".closed", "compares the open model's capacity with the closed model's: it needs variant rate, not %s", s.Variant)
		}
		if s.Closed && (s.ClosedUsers < 1 || s.ClosedUsers > MaxClosedUsers) {
			add(path+".closed_users", "must be from 1 to %d, got %d", MaxClosedUsers, s.ClosedUsers)
		}
		if s.Efficiency < 0 || s.Efficiency >= 1 {
			add(path+".efficiency", "must be a fraction below 1, got %v", s.Efficiency)
		}
		nonNeg(path+".max_vus", float64(s.MaxVUs))
		nonNeg(path+".users", float64(s.Users))
		nonNeg(path+".rate", s.Rate)
		if s.Users > 0 && s.Rate > 0 {
			add(path, "set users or rate for the constant load, not both")
		}
		switch s.Variant {
		case VariantPayload:
			if p.Variables[PayloadVariable] == "" {
				add(path+".variant", "the payload variant repeats variables.%s: define it and use {{ %s }} in a request body", PayloadVariable, PayloadVariable)
			}
		case VariantDatabase:
			if len(p.Databases) == 0 {
				add(path+".variant", "the database variant steps the connection pool of databases: declare one")
			}
		}
	}
	if r := t.Recovery; !r.Skip {
		if r.Limit <= 0 {
			add("tests.recovery.limit", "must be > 0")
		}
		nonNeg("tests.recovery.tolerance", r.Tolerance)
		if r.Windows < 1 {
			add("tests.recovery.windows", "must be ≥ 1, got %d", r.Windows)
		}
	}
	phase("tests.soak", t.Soak)
	if s := t.Scalability; !s.Skip && s.Instances != nil {
		p.checkInstances(s, add)
	}
	if s := t.Scalability; !s.Skip && len(s.Configs) > 0 && s.Instances == nil {
		path := "tests.scalability"
		if strings.TrimSpace(s.Apply) == "" {
			add(path+".apply", "required: the command that applies each configuration, e.g. kubectl scale deploy/api --replicas={{ instances }}")
		}
		if s.Duration <= 0 {
			add(path+".duration", "must be > 0")
		}
		nonNeg(path+".stabilize", float64(s.Stabilize))
		nonNeg(path+".users_per_unit", float64(s.UsersPerUnit))
		nonNeg(path+".rate_per_unit", s.RatePerUnit)
		if s.UsersPerUnit > 0 && s.RatePerUnit > 0 {
			add(path, "set users_per_unit or rate_per_unit, not both")
		}
		unit := ScaleUnit(s)
		for i, c := range s.Configs {
			cp := indexPath(path+".configs", i)
			v, ok := c[unit]
			if !ok {
				add(cp, "has no %q (the unit, tests.scalability.unit)", unit)
				continue
			}
			if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil || n <= 0 || math.IsInf(n, 0) {
				add(keyPath(cp, unit), "must be a number > 0, got %q", v)
			}
		}
	}
	if s := t.Pool; !s.Skip {
		path := "tests.pool"
		p.checkPool(s, add)
		if len(s.Sizes) == 0 {
			add(path+".sizes", "give at least one pool size")
		}
		if s.Users <= 0 && s.Rate <= 0 {
			add(path, "set users or rate: the load every pool size meets")
		}
		if s.Duration <= 0 {
			add(path+".duration", "must be > 0")
		}
		// The profile's pool phase is skipped without a database to scale;
		// one the plan writes must be able to run.
		if p.Tests != nil && p.Tests.Pool != nil && s.DB == "" {
			switch n := len(p.Databases); {
			case n == 0:
				add(path, "the pool phase changes a database's connection pool: declare one under databases")
			case n > 1:
				add(path+".db", "required: several databases are declared (%s); name the one whose pool changes", strings.Join(sortedKeys(p.Databases), ", "))
			}
		}
	}
	if len(probs) == 0 {
		return nil
	}
	sortProblems(probs)
	return &ValidationError{Problems: probs}
}

// checkPool reports the problems of a pool block that need nothing but
// the block and the plan's databases: Validate's, and the resolved
// protocol's for plans built in Go.
func (p *Plan) checkPool(s *PoolSpec, add func(path, format string, args ...any)) {
	if s == nil || s.Skip {
		return
	}
	path := "tests.pool"
	if _, ok := p.Databases[s.DB]; s.DB != "" && !ok {
		declared := "none is declared"
		if len(p.Databases) > 0 {
			declared = "declared: " + strings.Join(sortedKeys(p.Databases), ", ")
		}
		add(path+".db", "no database %q under databases (%s)", s.DB, declared)
	}
	for i, n := range s.Sizes {
		switch {
		case n < 1:
			add(indexPath(path+".sizes", i), "must be ≥ 1 connection, got %d", n)
		case i > 0 && n <= s.Sizes[i-1]:
			add(indexPath(path+".sizes", i), "must be larger than the size before it (%d): list the sizes in increasing order", s.Sizes[i-1])
		}
	}
	if s.Users < 0 {
		add(path+".users", "must be ≥ 0, got %d", s.Users)
	}
	if s.Rate < 0 || math.IsNaN(s.Rate) {
		add(path+".rate", "must be ≥ 0, got %v", s.Rate)
	}
	if s.Users > 0 && s.Rate > 0 {
		add(path, "set users (closed model) or rate (open model), not both")
	}
}

// PoolDB is the database whose pool the pool phase s changes:
// tests.pool.db, else the plan's only database. It is "" when the phase
// has nothing to scale — no database, several with none named, or one
// named that the plan does not declare — and then the phase does not run.
func (p *Plan) PoolDB(s *PoolSpec) string {
	if s == nil {
		return ""
	}
	if s.DB != "" {
		if _, ok := p.Databases[s.DB]; ok {
			return s.DB
		}
		return ""
	}
	if len(p.Databases) == 1 {
		for name := range p.Databases {
			return name
		}
	}
	return ""
}

// ScaleUnit is the configuration key that counts units (N) in the
// scalability phase: tests.scalability.unit, else the only key the
// configurations share, else "instances".
func ScaleUnit(s *ScalabilitySpec) string {
	if s.Unit != "" {
		return s.Unit
	}
	if len(s.Configs) > 0 && len(s.Configs[0]) == 1 {
		for k := range s.Configs[0] {
			return k
		}
	}
	return "instances"
}

// Scaled returns a copy of t with every duration multiplied by f, for
// rehearsals and tests of the protocol itself. Loads are kept; holds stay
// at least one second (a one-second window is the smallest measurement)
// and the recovery limit at least two seconds more than its windows.
func (t *Tests) Scaled(f float64) *Tests {
	c := t.Clone()
	if f <= 0 || f == 1 || math.IsNaN(f) {
		return c
	}
	sc := func(d *Duration, floor time.Duration) {
		v := Duration(math.Round(float64(*d)*f/float64(time.Millisecond)) * float64(time.Millisecond))
		if *d > 0 && v < Duration(floor) {
			v = Duration(floor)
		}
		*d = v
	}
	phase := func(s *PhaseSpec) {
		if s != nil {
			sc(&s.Duration, time.Second)
			sc(&s.RampUp, 0)
		}
	}
	sc(&c.CoolDown, 0)
	phase(c.Warmup)
	phase(c.Soak)
	for _, l := range c.Load {
		phase(l)
	}
	if b := c.Baseline; b != nil {
		sc(&b.Duration, time.Second)
		for i := range b.RampUp {
			sc(&b.RampUp[i], 0)
		}
		sc(&b.Pause, 0)
	}
	if s := c.Stress; s != nil {
		sc(&s.Hold, time.Second)
		sc(&s.Warmup, 0)
		sc(&s.Budget, 0)
	}
	if r := c.Recovery; r != nil {
		sc(&r.Limit, time.Duration(r.Windows+2)*time.Second)
	}
	if s := c.Scalability; s != nil {
		sc(&s.Stabilize, 0)
		sc(&s.Duration, time.Second)
	}
	if s := c.Pool; s != nil {
		sc(&s.Duration, time.Second)
	}
	return c
}

// Clone returns a deep copy of t.
func (t *Tests) Clone() *Tests {
	if t == nil {
		return nil
	}
	c := *t
	cp := func(s *PhaseSpec) *PhaseSpec {
		if s == nil {
			return nil
		}
		v := *s
		return &v
	}
	c.Warmup, c.Soak = cp(t.Warmup), cp(t.Soak)
	c.Load = nil
	for _, l := range t.Load {
		c.Load = append(c.Load, cp(l))
	}
	if t.Baseline != nil {
		b := *t.Baseline
		b.Levels = slices.Clone(b.Levels)
		b.RampUp = slices.Clone(b.RampUp)
		c.Baseline = &b
	}
	if t.Stress != nil {
		s := *t.Stress
		c.Stress = &s
	}
	if t.Recovery != nil {
		r := *t.Recovery
		c.Recovery = &r
	}
	if t.Scalability != nil {
		s := *t.Scalability
		if in := s.Instances; in != nil {
			c := *in
			c.Count = slices.Clone(in.Count)
			s.Instances = &c
		}
		s.Configs = nil
		for _, cfg := range t.Scalability.Configs {
			m := make(map[string]string, len(cfg))
			for k, v := range cfg {
				m[k] = v
			}
			s.Configs = append(s.Configs, m)
		}
		c.Scalability = &s
	}
	if t.Pool != nil {
		s := *t.Pool
		s.Sizes = slices.Clone(s.Sizes)
		c.Pool = &s
	}
	return &c
}
