package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Upper bounds of every quantity a plan (or a flag) can set. Each keeps one
// typo or one hostile number from taking the generator's memory, file
// descriptors or time; each is far above what a real test needs. They are
// checked by Validate, listed in the README's plan section, and the
// engine's own check of VUs against this host's open-files limit and
// memory (load.CheckCapacity) comes on top of them.
const (
	// MaxPlanBytes is the largest plan file Load reads.
	MaxPlanBytes = 1 << 20
	// MaxVUs bounds load.vus, stages[].users, load.max_vus and
	// load.pre_allocated_vus, for the whole test (before --segment).
	MaxVUs = 1_000_000
	// MaxRate bounds load.rate and stages[].rate, iterations per second.
	MaxRate = 10_000_000
	// MaxIterations bounds load.iterations.
	MaxIterations = 1_000_000_000_000
	// MaxStages bounds the number of load.stages.
	MaxStages = 1000
	// MaxLoadDuration bounds the whole load: ramp_up + duration +
	// ramp_down, or the stages' sum. A run keeps a window per second.
	MaxLoadDuration = Duration(24 * time.Hour)
	// MaxWait bounds graceful_stop, timeouts and think times.
	MaxWait = Duration(time.Hour)
	// MaxScenarios bounds the number of scenarios.
	MaxScenarios = 1000
	// MaxSteps bounds the steps of all scenarios together: each step keeps
	// its own latency histograms (about 0.4 MB).
	MaxSteps = 1000
	// MaxWeight bounds a scenario's weight.
	MaxWeight = 1_000_000
	// MaxHeaders bounds the headers of one request (target and step).
	MaxHeaders = 100
	// MaxHeaderBytes bounds one header's name and value.
	MaxHeaderBytes = 8 << 10
	// MaxRequestBody bounds a step's body (or json) as written: each VU
	// holds its own expanded copy.
	MaxRequestBody = 8 << 20
	// DefaultMaxBody is target.max_body when the plan leaves it out.
	DefaultMaxBody = 4 << 20
	// MaxMaxBody bounds target.max_body: the response body a step that
	// checks or extracts from it keeps in memory, per VU.
	MaxMaxBody = 256 << 20
	// MaxFeederBytes bounds a data file: its rows are held in memory.
	MaxFeederBytes = 256 << 20
	// MaxFeeders bounds the number of data feeders.
	MaxFeeders = 100
	// MaxThresholds bounds the number of thresholds.
	MaxThresholds = 1000
	// MaxPool bounds a database's pool and min_pool.
	MaxPool = 10_000
)

// bounds checks every bounded quantity of the plan.
func (c *checker) bounds() {
	p := c.p
	t := &p.Target
	c.atMost("target.timeout", float64(t.Timeout), float64(MaxWait), durText)
	if t.MaxBody < 0 {
		c.add("target.max_body", "must be > 0, got %d", t.MaxBody)
	}
	c.atMost("target.max_body", float64(t.MaxBody), MaxMaxBody, bytesText)
	c.headers("target.headers", t.Headers, 0)
	if n := len(p.Data); n > MaxFeeders {
		c.add("data", "%d feeders; at most %d are allowed", n, MaxFeeders)
	}
	if n := len(p.Thresholds); n > MaxThresholds {
		c.add("thresholds", "%d thresholds; at most %d are allowed", n, MaxThresholds)
	}
	if n := len(p.Scenarios); n > MaxScenarios {
		c.add("scenarios", "%d scenarios; at most %d are allowed (merge similar journeys and use weights)", n, MaxScenarios)
	}
	steps := 0
	for i, s := range p.Scenarios {
		if s == nil {
			continue
		}
		sp := indexPath("scenarios", i)
		c.atMostInt(fieldPath(sp, "weight"), int64(s.Weight), MaxWeight)
		c.thinkBounds(fieldPath(sp, "think"), s.Think)
		steps += len(s.Steps)
		for j, st := range s.Steps {
			if st == nil {
				continue
			}
			stp := indexPath(fieldPath(sp, "steps"), j)
			c.atMost(fieldPath(stp, "timeout"), float64(st.Timeout), float64(MaxWait), durText)
			c.thinkBounds(fieldPath(stp, "think"), st.Think)
			c.atMost(fieldPath(stp, "body"), float64(len(st.Body)), MaxRequestBody, bytesText)
			c.headers(fieldPath(stp, "headers"), st.Headers, len(t.Headers))
		}
	}
	if steps > MaxSteps {
		c.add("scenarios", "%d steps in all; at most %d are allowed (each keeps its own histograms)", steps, MaxSteps)
	}
	c.loadBounds()
	c.testsBounds()
	if sys := p.System; sys != nil {
		c.atMost("system.interval", float64(sys.Interval), float64(MaxWait), durText)
		c.atMost("system.cpu_profile", float64(sys.CPUProfile), float64(MaxWait), durText)
	}
	for _, name := range sortedKeys(p.Databases) {
		if db := p.Databases[name]; db != nil {
			dp := keyPath("databases", name)
			c.atMostInt(fieldPath(dp, "pool"), int64(db.Pool), MaxPool)
			c.atMostInt(fieldPath(dp, "min_pool"), int64(db.MinPool), MaxPool)
			c.atMost(fieldPath(dp, "timeout"), float64(db.Timeout), float64(MaxWait), durText)
		}
	}
}

func (c *checker) loadBounds() {
	if c.p.Loads != nil {
		c.loadsBounds()
		return
	}
	c.loadSpecBounds("load", &c.p.Load)
}

// loadSpecBounds bounds one load block written at path.
func (c *checker) loadSpecBounds(path string, l *LoadSpec) {
	c.atMostInt(fieldPath(path, "vus"), int64(l.VUs), MaxVUs)
	c.atMostInt(fieldPath(path, "max_vus"), int64(l.MaxVUs), MaxVUs)
	c.atMostInt(fieldPath(path, "pre_allocated_vus"), int64(l.PreVUs), MaxVUs)
	c.atMost(fieldPath(path, "rate"), l.Rate, MaxRate, numText)
	c.atMostInt(fieldPath(path, "iterations"), int64(l.Iterations), MaxIterations)
	c.atMost(fieldPath(path, "graceful_stop"), float64(l.GracefulStop), float64(MaxWait), durText)
	if n := len(l.Stages); n > MaxStages {
		c.add(fieldPath(path, "stages"), "%d stages; at most %d are allowed", n, MaxStages)
	}
	// The total in seconds: a sum of nanoseconds could overflow.
	total := l.RampUp.D().Seconds() + l.Duration.D().Seconds() + l.RampDown.D().Seconds()
	if len(l.Stages) > 0 {
		total = 0
		for i, s := range l.Stages {
			if s == nil {
				continue
			}
			sp := indexPath(fieldPath(path, "stages"), i)
			if s.Users != nil {
				c.atMostInt(fieldPath(sp, "users"), int64(*s.Users), MaxVUs)
			}
			if s.Rate != nil {
				c.atMost(fieldPath(sp, "rate"), *s.Rate, MaxRate, numText)
			}
			total += s.RampUp.D().Seconds() + s.Duration.D().Seconds()
		}
	}
	if total > MaxLoadDuration.D().Seconds() {
		at := fieldPath(path, "duration")
		if len(l.Stages) > 0 {
			at = fieldPath(path, "stages")
		}
		c.add(at, "the load lasts %s; at most %s is allowed (split a longer soak into several runs)",
			durText(total*1e9), durText(float64(MaxLoadDuration)))
	}
}

// testsBounds bounds the protocol's phases like the load block: levels
// like VUs and rates, each phase's length like the whole load.
func (c *checker) testsBounds() {
	t := c.p.Tests
	if t == nil {
		return
	}
	long := func(path string, d Duration) {
		c.atMost(path, float64(d), float64(MaxLoadDuration), durText)
	}
	phase := func(path string, ph *PhaseSpec) {
		if ph == nil {
			return
		}
		c.atMostInt(fieldPath(path, "users"), int64(ph.Users), MaxVUs)
		c.atMost(fieldPath(path, "rate"), ph.Rate, MaxRate, numText)
		long(fieldPath(path, "duration"), ph.Duration)
		long(fieldPath(path, "ramp_up"), ph.RampUp)
	}
	c.atMost("tests.cool_down", float64(t.CoolDown), float64(MaxWait), durText)
	phase("tests.warmup", t.Warmup)
	phase("tests.soak", t.Soak)
	if n := len(t.Load); n > MaxStages {
		c.add("tests.load", "%d phases; at most %d are allowed", n, MaxStages)
	}
	for i, ph := range t.Load {
		phase(indexPath("tests.load", i), ph)
	}
	if b := t.Baseline; b != nil {
		if n := len(b.Levels); n > MaxStages {
			c.add("tests.baseline.levels", "%d levels; at most %d are allowed", n, MaxStages)
		}
		for i, v := range b.Levels {
			c.atMostInt(indexPath("tests.baseline.levels", i), int64(v), MaxVUs)
		}
		long("tests.baseline.duration", b.Duration)
		for i, r := range b.RampUp {
			long(indexPath("tests.baseline.ramp_up", i), r)
		}
		long("tests.baseline.pause", b.Pause)
	}
	if st := t.Stress; st != nil {
		limit := float64(MaxRate)
		switch st.Variant {
		case "users":
			limit = MaxVUs
		case "database":
			limit = MaxPool
		case "payload", "memory":
			limit = MaxRequestBody
		}
		for _, f := range []struct {
			name string
			v    float64
		}{{"start", st.Start}, {"step", st.Step}, {"max", st.Max}} {
			c.atMost(fieldPath("tests.stress", f.name), f.v, limit, numText)
		}
		c.atMostInt("tests.stress.users", int64(st.Users), MaxVUs)
		c.atMost("tests.stress.rate", st.Rate, MaxRate, numText)
		c.atMostInt("tests.stress.closed_users", int64(st.ClosedUsers), MaxVUs)
		c.atMostInt("tests.stress.max_vus", int64(st.MaxVUs), MaxVUs)
		c.atMostInt("tests.stress.bisect", int64(st.Bisect), MaxStages)
		long("tests.stress.hold", st.Hold)
		long("tests.stress.warmup", st.Warmup)
		long("tests.stress.budget", st.Budget)
	}
	if r := t.Recovery; r != nil {
		long("tests.recovery.limit", r.Limit)
		c.atMostInt("tests.recovery.windows", int64(r.Windows), int64(MaxLoadDuration.D().Seconds()))
	}
	if sc := t.Scalability; sc != nil {
		if n := len(sc.Configs); n > MaxStages {
			c.add("tests.scalability.configs", "%d configurations; at most %d are allowed", n, MaxStages)
		}
		c.atMostInt("tests.scalability.users_per_unit", int64(sc.UsersPerUnit), MaxVUs)
		c.atMost("tests.scalability.rate_per_unit", sc.RatePerUnit, MaxRate, numText)
		long("tests.scalability.duration", sc.Duration)
		c.atMost("tests.scalability.stabilize", float64(sc.Stabilize), float64(MaxWait), durText)
	}
}

func (c *checker) thinkBounds(path string, t *Think) {
	if t != nil {
		c.atMost(fieldPath(path, "min"), float64(t.Min), float64(MaxWait), durText)
		c.atMost(fieldPath(path, "max"), float64(t.Max), float64(MaxWait), durText)
	}
}

// headers checks a request's header count (inherited are those it gets
// from the target) and each header's size.
func (c *checker) headers(path string, h map[string]string, inherited int) {
	if n := len(h) + inherited; n > MaxHeaders {
		c.add(path, "%d headers per request; at most %d are allowed", n, MaxHeaders)
	}
	for _, k := range sortedKeys(h) {
		if n := len(k) + len(h[k]); n > MaxHeaderBytes {
			c.add(keyPath(path, k), "header is %s; at most %s is allowed", bytesText(float64(n)), bytesText(MaxHeaderBytes))
		}
	}
}

// atMostInt reports a count above limit.
func (c *checker) atMostInt(path string, v, limit int64) {
	if v > limit {
		c.add(path, "%s is above the limit of %s (lower it%s)", groupDigits(v), groupDigits(limit), advice(path))
	}
}

// atMost reports v above limit, both shown by text.
func (c *checker) atMost(path string, v, limit float64, text func(float64) string) {
	if v > limit {
		c.add(path, "%s is above the limit of %s (lower it%s)", text(v), text(limit), advice(path))
	}
}

// advice says how to get more of what a bound limits.
func advice(path string) string {
	parent, field := parentPath(path), path[strings.LastIndexByte(path, '.')+1:]
	if parent == "load" || parentPath(parent) == "loads" {
		switch field {
		case "vus", "max_vus", "pre_allocated_vus", "rate", "iterations":
			return "; for more, run several stampede processes with --segment k/n and merge their results"
		}
	}
	return ""
}

func numText(v float64) string {
	if v == float64(int64(v)) && v < 1e15 {
		return groupDigits(int64(v))
	}
	return fmt.Sprintf("%g", v)
}

// groupDigits writes n with thousands separators: 1,000,000.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + groupDigits(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func durText(ns float64) string {
	if ns >= 1<<63-1 {
		return fmt.Sprintf("%.0fh", ns/float64(time.Hour))
	}
	return time.Duration(ns).String()
}

func bytesText(b float64) string {
	switch {
	case b >= 1<<20:
		return fmt.Sprintf("%g MiB", float64(int64(b*10/(1<<20)))/10)
	case b >= 1<<10:
		return fmt.Sprintf("%g KiB", float64(int64(b*10/(1<<10)))/10)
	}
	return fmt.Sprintf("%d bytes", int64(b))
}

// ParseByteSize parses a size: a number of bytes, or a number with B, kB,
// KiB, MB, MiB, GB or GiB (case-insensitive, space allowed).
func ParseByteSize(s string) (ByteSize, bool) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, false
	}
	mult := map[string]float64{"": 1, "b": 1, "kb": 1e3, "kib": 1 << 10, "mb": 1e6, "mib": 1 << 20, "gb": 1e9, "gib": 1 << 30}[unit]
	if mult == 0 || f*mult >= math.MaxInt64 {
		return 0, false
	}
	return ByteSize(math.Round(f * mult)), true
}
