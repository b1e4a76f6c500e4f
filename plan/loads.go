package plan

import (
	"reflect"
	"slices"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// A plan sets either `load:` (one load running every scenario) or
// `loads:`, several named loads running side by side in one run, each
// with its own model, levels, scenarios, start and thresholds:
//
//	loads:
//	  browsers: {vus: 50, duration: 5m, scenarios: [browse]}
//	  api:      {rate: 300, duration: 4m, start: 1m, scenarios: [orders]}
//
// A scenario runs in exactly one load, so each load's numbers are the sum
// of its own scenarios' and the loads' numbers add up to the run's.

// MaxLoads bounds the number of loads of a `loads:` block: each runs its
// own executor and collector.
const MaxLoads = 32

// Loads is the `loads:` block, in the order the plan wrote it.
type Loads []*NamedLoad

// NamedLoad is one load of a `loads:` block: a load block (the same
// fields and checks as `load:`) and what only a load among several has.
type NamedLoad struct {
	Name     string `yaml:"-" json:"name"`
	LoadSpec `yaml:",inline"`
	// Scenarios are the scenarios this load runs, with their weights;
	// required when the plan has several loads (one load runs them all).
	Scenarios []string `yaml:"scenarios" json:"scenarios,omitempty"`
	// Start is when the load starts, from the start of the run.
	Start Duration `yaml:"start" json:"start,omitempty"`
	// Thresholds are judged on this load's requests alone.
	Thresholds []*Threshold `yaml:"thresholds" json:"thresholds,omitempty"`
	// Tags label the load's numbers: its entry of the Run's loads (the
	// JSON output, the history) and its row of the reports' loads table.
	Tags map[string]string `yaml:"tags" json:"tags,omitempty"`
}

// Bounds of a load's tags.
const (
	MaxLoadTags    = 16
	MaxTagKeyLen   = 64
	MaxTagValueLen = 256
)

// Path is where the load is written in the plan: `loads.api`.
func (l *NamedLoad) Path() string { return keyPath("loads", l.Name) }

// Length is how long the load runs from its start: its stages, or ramp-up,
// duration and ramp-down (0 when only an iteration count ends it).
func (l *LoadSpec) Length() time.Duration {
	if len(l.Stages) > 0 {
		var d time.Duration
		for _, s := range l.Stages {
			if s != nil {
				d += s.RampUp.D() + s.Duration.D()
			}
		}
		return d
	}
	return l.RampUp.D() + l.Duration.D() + l.RampDown.D()
}

// Only returns a copy of p that runs load l alone: its load block and its
// scenarios (in plan order), and no `loads:`. The copy shares everything
// else with p.
func (p *Plan) Only(l *NamedLoad) *Plan {
	q := *p
	q.Loads = nil
	q.Load = l.LoadSpec
	q.Scenarios = nil
	for _, s := range p.Scenarios {
		if s != nil && slices.Contains(l.Scenarios, s.Name) {
			q.Scenarios = append(q.Scenarios, s)
		}
	}
	return &q
}

// loads decodes the `loads:` mapping, keeping its order.
func (d *decoder) loads(n ast.Node, ls *Loads, path string) {
	m, ok := asMapping(n)
	if !ok {
		d.fail(n, path, "expected a mapping of named loads (loads: {api: {rate: 50, duration: 1m}}), got %s", describe(n))
		return
	}
	out := Loads{}
	for _, e := range d.entries(m, path) {
		child := keyPath(path, e.key)
		d.record(child, e.kn, e.value)
		l := &NamedLoad{Name: e.key}
		d.value(e.value, reflect.ValueOf(l).Elem(), child)
		out = append(out, l)
	}
	*ls = out
}

// loadsDefaults fills each load's defaults as `load:` gets them; a single
// load without scenarios runs them all.
func (p *Plan) loadsDefaults() {
	for _, l := range p.Loads {
		if l == nil {
			continue
		}
		lp := l.Path()
		l.applyDefaults(p.given(fieldPath(lp, "vus")) || p.given(fieldPath(lp, "rate")))
		if len(p.Loads) == 1 && len(l.Scenarios) == 0 && !p.failed(fieldPath(lp, "scenarios")) {
			for _, s := range p.Scenarios {
				if s != nil && s.Name != "" {
					l.Scenarios = append(l.Scenarios, s.Name)
				}
			}
		}
	}
}

// loads checks the `loads:` block: every load as `load:` is checked, its
// scenarios (each in exactly one load), start and thresholds.
func (c *checker) loads() {
	p := c.p
	if len(p.Loads) == 0 {
		c.add("loads", "at least one load is required (or write a single load under load:)")
		return
	}
	if p.given("load") || p.pos == nil && !reflect.ValueOf(p.Load).IsZero() {
		c.add("load", "set load (one load) or loads (several named loads), not both")
	}
	if p.Tests != nil {
		c.add("loads", "the test protocol (tests:) runs one load: write it under load:, or run this plan with stampede run")
	}
	scenarios := map[string]*Scenario{}
	var names []string
	for _, s := range p.Scenarios {
		if s != nil && s.Name != "" {
			scenarios[s.Name] = s
			names = append(names, s.Name)
		}
	}
	owner := map[string]string{} // scenario → the load that runs it
	seen := map[string]bool{}
	for i, l := range p.Loads {
		if l == nil {
			c.add(indexPath("loads", i), "empty load: set vus or rate, duration and scenarios")
			continue
		}
		lp := l.Path()
		switch {
		case l.Name == "":
			c.add(indexPath("loads", i), "a load needs a name")
		case seen[l.Name]:
			c.add(lp, "duplicate load name %q", l.Name)
		}
		seen[l.Name] = true
		c.loadSpec(lp, &l.LoadSpec, true)
		c.nonNegativeDuration(fieldPath(lp, "start"), l.Start)
		sp := fieldPath(lp, "scenarios")
		if len(l.Scenarios) == 0 && !p.failed(sp) {
			c.add(sp, "required when the plan has several loads: list the scenarios this load runs")
		}
		positive, known := false, true
		for j, name := range l.Scenarios {
			at := indexPath(sp, j)
			switch {
			case scenarios[name] == nil:
				c.add(at, "unknown scenario %q%s", name, hint(name, names, "scenarios"))
				known = false
				continue
			case owner[name] == lp:
				c.add(at, "scenario %q is listed twice", name)
			case owner[name] != "":
				c.add(at, "scenario %q already runs in %s; a scenario runs in one load: copy it under another name for this one", name, owner[name])
			default:
				owner[name] = lp
			}
			positive = positive || scenarios[name].Weight > 0
		}
		if len(l.Scenarios) > 0 && known && !positive {
			c.add(sp, "every scenario of this load has weight 0; at least one must be > 0")
		}
		c.thresholdList(fieldPath(lp, "thresholds"), l.Thresholds, l.Scenarios)
		c.loadTags(fieldPath(lp, "tags"), l.Tags)
	}
	for i, s := range p.Scenarios {
		if s != nil && s.Name != "" && owner[s.Name] == "" {
			c.add(fieldPath(indexPath("scenarios", i), "name"), "scenario %q runs in no load: add it to the scenarios of one of loads", s.Name)
		}
	}
}

// loadsBounds bounds every load as `load:` is bounded, their number, and
// each load's start and end within the longest load allowed.
func (c *checker) loadsBounds() {
	p := c.p
	if n := len(p.Loads); n > MaxLoads {
		c.add("loads", "%d loads; at most %d are allowed (give a load several scenarios)", n, MaxLoads)
	}
	ths := len(p.Thresholds)
	for _, l := range p.Loads {
		if l == nil {
			continue
		}
		lp := l.Path()
		c.loadSpecBounds(lp, &l.LoadSpec)
		c.atMost(fieldPath(lp, "start"), float64(l.Start), float64(MaxLoadDuration), durText)
		if end := l.Start.D().Seconds() + l.Length().Seconds(); l.Start <= MaxLoadDuration && end > MaxLoadDuration.D().Seconds() {
			c.add(fieldPath(lp, "start"), "the load ends %s after the run starts; at most %s is allowed",
				durText(end*1e9), durText(float64(MaxLoadDuration)))
		}
		ths += len(l.Thresholds)
	}
	if ths > MaxThresholds {
		c.add("loads", "%d thresholds in all; at most %d are allowed", ths, MaxThresholds)
	}
}

// loadTags checks a load's tags: their number, and keys that label a
// series in every output (a letter, then letters, digits and _).
func (c *checker) loadTags(path string, tags map[string]string) {
	if len(tags) > MaxLoadTags {
		c.add(path, "%d tags; at most %d are allowed", len(tags), MaxLoadTags)
	}
	for _, k := range sortedKeys(tags) {
		switch {
		case !tagKey(k):
			c.add(keyPath(path, k), "a tag's name starts with a letter and holds only letters, digits and _ (e.g. team, tier_1)")
		case len(k) > MaxTagKeyLen:
			c.add(keyPath(path, k), "a tag's name is at most %d characters", MaxTagKeyLen)
		case reservedTag(k):
			c.add(keyPath(path, k), "%q is a label the outputs already use: choose another name", k)
		case len(tags[k]) > MaxTagValueLen:
			c.add(keyPath(path, k), "a tag's value is at most %d characters", MaxTagValueLen)
		}
	}
}

func tagKey(k string) bool {
	for i, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r == '_' || r >= '0' && r <= '9')) {
			return false
		}
	}
	return k != ""
}

// reservedTag is a label the outputs already give series, kept from tags
// so that a load's tags can label its series beside them.
func reservedTag(k string) bool {
	switch k {
	case "load", "scenario", "step", "kind", "hop", "phase", "quantile", "le":
		return true
	}
	return false
}
