package tmpl

import (
	"math/rand/v2"
	"time"
)

// State is what one VU's expansions depend on: its id, its iteration, its
// random generator and clock, the variables extracted so far in the
// iteration and the feeder rows drawn for it.
//
// A State belongs to one VU and is not safe for concurrent use; the VU's
// goroutine calls NewIteration, Set and the Templates' Append in turn. After
// the first iteration has touched every variable and feeder, none of its
// methods allocate.
type State struct {
	vu      int
	iter    int64
	gen     uint64 // bumped by NewIteration; rows drawn in an older gen are stale
	rng     *rand.Rand
	now     func() time.Time
	vars    []binding // few per iteration, so a slice beats a map and resets for free
	rows    []drawn
	missing string
}

type binding struct{ name, value string }

type drawn struct {
	f   *Feeder
	row []string
	gen uint64
}

// NewState returns the state of VU vu. rng is the VU's own generator, used
// by uuid, random_int, random_string and random feeders; seed it per VU,
// for example rand.New(rand.NewPCG(runSeed, uint64(vu))). A nil rng gets a
// randomly seeded PCG. now is the clock behind timestamp; nil means
// time.Now.
func NewState(vu int, rng *rand.Rand, now func() time.Time) *State {
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if now == nil {
		now = time.Now
	}
	return &State{
		vu:   vu,
		gen:  1,
		rng:  rng,
		now:  now,
		vars: make([]binding, 0, 8),
		rows: make([]drawn, 0, 4),
	}
}

// VU returns the VU id.
func (s *State) VU() int { return s.vu }

// Iteration returns the iteration number set by the last NewIteration.
func (s *State) Iteration() int64 { return s.iter }

// Rand returns the VU's generator, for the engine's own draws (think
// times, scenario choice) so that one seed reproduces the whole VU.
func (s *State) Rand() *rand.Rand {
	if s.rng == nil { // a zero State
		s.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return s.rng
}

func (s *State) clock() time.Time {
	if s.now == nil { // a zero State
		return time.Now()
	}
	return s.now()
}

// NewIteration starts iteration iter: it forgets the extracted variables
// and the missing-variable mark, and makes each non-unique feeder draw a
// new row on its next use. It does not allocate.
func (s *State) NewIteration(iter int64) {
	s.iter = iter
	s.gen++
	clear(s.vars) // drop references to last iteration's values
	s.vars = s.vars[:0]
	s.missing = ""
}

// Set gives variable name the value v for the rest of the iteration,
// replacing an earlier value and shadowing a plan-level value of that name.
func (s *State) Set(name, v string) {
	for i := range s.vars {
		if s.vars[i].name == name {
			s.vars[i].value = v
			return
		}
	}
	s.vars = append(s.vars, binding{name, v})
}

// Get returns the value Set for name in this iteration. Plan-level values
// are not visible here; templates fall back to them.
func (s *State) Get(name string) (string, bool) {
	for i := range s.vars {
		if s.vars[i].name == name {
			return s.vars[i].value, true
		}
	}
	return "", false
}

// Missing returns the first variable that a template needed but had no
// value for, since the last NewIteration or ClearMissing; "" if none. The
// engine checks it after building a request and counts an extract_failed
// error rather than send the request.
func (s *State) Missing() string { return s.missing }

// ClearMissing forgets the missing variable, for an engine that goes on
// with the iteration after a failed request.
func (s *State) ClearMissing() { s.missing = "" }

// row returns the row of f for this iteration, drawing one on first use.
func (s *State) row(f *Feeder) []string {
	for i := range s.rows {
		d := &s.rows[i]
		if d.f != f {
			continue
		}
		if d.gen != s.gen && f.mode != modeUnique {
			d.row, d.gen = f.draw(s), s.gen
		}
		return d.row
	}
	row := f.draw(s)
	s.rows = append(s.rows, drawn{f: f, row: row, gen: s.gen})
	return row
}
