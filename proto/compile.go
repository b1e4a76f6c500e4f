// Package proto compiles a plan's scenarios into the load engine's Test,
// choosing the step runner for each step (HTTP now; SQL beside it). It is
// the one place that knows every protocol, so the engine knows none.
package proto

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	httpstep "github.com/stampede-perf/stampede/proto/http"
	sqlstep "github.com/stampede-perf/stampede/proto/sql"
	"github.com/stampede-perf/stampede/tmpl"
)

// Options are the process facts compilation needs.
type Options struct {
	Getenv func(string) string
}

// Slots used by the step runners in every VU.
const (
	slotHTTP = iota
	slotSQL
	slotWS
	slotGRPC
	numSlots
)

// Compile turns p into a Test and the metrics layout that names its
// steps. Every problem found is reported, one per line, each with the plan
// position and field path. Databases are declared here but connected only
// when a VU first uses them (see proto/sql), so compiling a plan to check
// it opens nothing.
func Compile(p *plan.Plan, o Options) (*load.Test, metrics.Layout, error) {
	var errs []string
	bad := func(path string, err error) {
		errs = append(errs, fmt.Sprintf("%s: %s: %v", p.At(path), path, err))
	}
	feeders := map[string]*tmpl.Feeder{}
	for _, name := range slices.Sorted(maps.Keys(p.Data)) {
		f := p.Data[name] // plan.Parse made relative paths absolute
		fd, err := tmpl.LoadFeeder(f.File, f.Mode)
		if err != nil {
			bad("data."+name+".file", err)
			continue
		}
		feeders[name] = fd
	}
	c := tmpl.NewCompiler(feeders, p.Variables, o.Getenv)
	timeout := p.Target.Timeout.D()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	keepAlive := p.Target.KeepAlive == nil || *p.Target.KeepAlive
	hcfg := httpstep.Config{Timeout: timeout, Insecure: p.Target.Insecure, KeepAlive: keepAlive, Slot: slotHTTP,
		Cookies: p.Target.Cookies, HTTP2: p.Target.HTTP == 2, Multiplex: hasParallel(p)}
	if r := p.Target.TLS; r != nil && r.Resumption != nil && !*r.Resumption {
		hcfg.NoResumption = true
	}
	var fe *httpstep.FieldError
	if cfg, err := httpstep.TLSConfig(p.Target); errors.As(err, &fe) {
		bad("target.tls."+fe.Field, fe.Err)
	} else {
		hcfg.TLS = cfg
	}
	if proxy, err := httpstep.ProxyFunc(p.Target, o.Getenv); errors.As(err, &fe) {
		bad("target."+fe.Field, fe.Err)
	} else {
		hcfg.Proxy = proxy
	}
	if err := httpstep.CheckH2CProxy(p.Target, hcfg); err != nil {
		bad("target.proxy", err)
	}
	streams := newStreams(p, c, timeout, hcfg.TLS)
	hcfg.Buffers = httpstep.NewBuffers(0) // borrowed by VUs only while a request is on the wire

	var dbs *sqlstep.Databases
	if len(p.Databases) > 0 {
		dbs = sqlstep.NewDatabases(sqlstep.Options{Getenv: o.Getenv, Slot: slotSQL, Timeout: timeout, VUs: PeakVUs(p)})
		for _, name := range slices.Sorted(maps.Keys(p.Databases)) {
			if err := dbs.Declare(name, p.Databases[name]); err != nil {
				bad("databases."+name, err)
			}
		}
	}

	// A column of a feeder that failed to load reads as a variable; its
	// problem is the feeder's, reported once above.
	feederVar := func(v string) bool {
		f, _, ok := strings.Cut(v, ".")
		return ok && p.Data[f] != nil
	}
	t := &load.Test{}
	var layout metrics.Layout
	for i, sc := range p.Scenarios {
		ls := load.Scenario{Name: sc.Name, Weight: sc.Weight}
		li := metrics.ScenarioInfo{Name: sc.Name, Weight: sc.Weight}
		known := map[string]bool{}
		for k := range p.Variables {
			known[k] = true
		}
		var pending []string // what the steps of a parallel group extract, known after it
		group := 0           // steps so far in the current parallel group
		for j, st := range sc.Steps {
			path := fmt.Sprintf("scenarios[%d].steps[%d]", i, j)
			if st.Parallel || group > 0 {
				group++
				switch {
				case st.SQL != nil || st.WS != nil || st.GRPC != nil:
					bad(path+".parallel", errors.New("only HTTP steps run in parallel: leave this step out of the group"))
				case group > load.MaxGroup:
					bad(path+".parallel", fmt.Errorf("a parallel group holds at most %d steps", load.MaxGroup))
				}
			}
			var step load.Step
			kind := "http"
			if st.WS != nil || st.GRPC != nil {
				ss, k, err := streams.compile(sc, j)
				if errors.As(err, &fe) {
					bad(path+"."+fe.Field, fe.Err)
					continue
				}
				if err != nil {
					bad(path+"."+k, err)
					continue
				}
				for _, v := range ss.Vars() {
					if !known[v] && !feederVar(v) {
						bad(path, fmt.Errorf("uses {{ %s }} but no earlier step of %q sets it (extract it in an earlier step, or define it under variables:)", v, sc.Name))
					}
				}
				for _, k := range ss.Sets() {
					known[k] = true
				}
				step, kind = ss, k
			} else if st.SQL != nil {
				if dbs == nil {
					bad(path+".sql.db", errors.New("no databases are declared under databases"))
					continue
				}
				qs, err := sqlstep.Compile(st, c, dbs)
				if errors.Is(err, sqlstep.ErrDatabase) {
					continue // reported under databases
				}
				if err != nil {
					bad(path, err)
					continue
				}
				for _, v := range qs.Vars() {
					if !known[v] && !feederVar(v) {
						bad(path, fmt.Errorf("uses {{ %s }} but no earlier step of %q sets it (extract it with extract: { %s: { column: … } } in an earlier step, draw it with sql.vars, or define it under variables:)", v, sc.Name, v))
					}
				}
				for _, k := range qs.Sets() {
					known[k] = true
				}
				step, kind = qs, "sql"
			} else {
				hs, err := httpstep.Compile(p.Target, st, c, hcfg)
				if errors.As(err, &fe) {
					field := path + "." + fe.Field
					if strings.HasPrefix(fe.Field, "auth.") && st.Auth == nil {
						field = "target." + fe.Field
					}
					bad(field, fe.Err)
					continue
				}
				if err != nil {
					bad(path, err)
					continue
				}
				for _, v := range hs.Vars() {
					if !known[v] && !feederVar(v) {
						bad(path, fmt.Errorf("uses {{ %s }} but no earlier step of %q extracts it (add extract: { %s: { json: … } } to an earlier step, or define it under variables:)", v, sc.Name, v))
					}
				}
				pending = append(pending, slices.Collect(maps.Keys(st.Extract))...)
				step = hs
			}
			th := sc.Think
			if st.Think != nil {
				th = st.Think
			}
			var think load.Think
			if th != nil {
				think = load.Think{Min: th.Min.D(), Max: th.Max.D()}
				if think.Max < think.Min {
					think.Max = think.Min
				}
			}
			if !st.Parallel || j == len(sc.Steps)-1 {
				for _, k := range pending { // the group, or this step alone, is done
					known[k] = true
				}
				pending, group = pending[:0], 0
			}
			if st.Parallel {
				if ls.Parallel == nil {
					ls.Parallel = make([]bool, len(sc.Steps))
				}
				ls.Parallel[j] = true
			}
			ls.Steps = append(ls.Steps, step)
			ls.Think = append(ls.Think, think)
			li.Steps = append(li.Steps, metrics.StepInfo{Name: st.Name, Kind: kind})
		}
		t.Scenarios = append(t.Scenarios, ls)
		layout.Scenarios = append(layout.Scenarios, li)
	}
	if len(errs) > 0 {
		return nil, metrics.Layout{}, errors.New(strings.Join(errs, "\n"))
	}
	t.NewState = func(vu *load.VU) load.IterState { return tmpl.NewState(vu.ID, vu.Rand, nil) }
	t.NewSlots = func(vu *load.VU) []any {
		s := make([]any, numSlots)
		s[slotHTTP] = httpstep.NewClient(hcfg)
		if dbs != nil {
			s[slotSQL] = dbs.NewSession()
		}
		streams.slots(s)
		return s
	}
	return t, layout, nil
}

// ManyVUs is the VU count from which memory per VU matters more than a
// few extra write calls or GC cycles.
const ManyVUs = 2000

// PeakVUs is the most VUs p's load can run at once.
func PeakVUs(p *plan.Plan) int {
	l := p.Load
	if l.Model == "open" {
		return l.MaxVUs
	}
	peak := l.VUs
	for _, s := range l.Stages {
		if s.Users != nil && *s.Users > peak {
			peak = *s.Users
		}
	}
	return peak
}

// hasParallel reports whether a step of p runs in parallel with others.
func hasParallel(p *plan.Plan) bool {
	for _, sc := range p.Scenarios {
		for _, st := range sc.Steps {
			if st.Parallel {
				return true
			}
		}
	}
	return false
}
