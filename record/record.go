// Package record is the run service: it records a run in the history as
// it goes, compares it with a reference run, draws its conclusions once,
// and stores the final Run. The stampede command records every run through
// it, and so can any program that uses suite as a library (a coordinator,
// a monitor loop, a web server): a run recorded here is the same document,
// in the same history, as one recorded by `stampede run`.
//
// Design. A Recording is begun before the load and finished after it.
// In between, Window hands each closed one-second window to the history
// and to any other sinks (a live output, a coordinator) as soon as it
// closes; the history's writes happen on a goroutine of their own, in
// batches, so a slow database never holds up the load's collector, and a
// process killed mid-run leaves every window that had closed (the next
// store.Open recovers them as an aborted run). Finish is the one place
// where a run's conclusions are drawn: the load is run with its
// conclusions deferred (suite.LoadOptions.DeferConclusions), Finish
// compares the Run with the reference, then calls analyze.Judge once
// with every input known, and stores the result. A window the history
// could not keep in time is no loss: the final Run carries every window
// and replaces them.
package record

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
)

// Sink receives each window of a run as it closes. It is called from the
// goroutine that calls Recording.Window (the load's collector) and must
// not block: a sink that does slow work queues it.
type Sink func(result.Window)

// Options say where a run is recorded and what it is compared with.
type Options struct {
	// Store is the history the run is recorded in; nil records nothing
	// (the run is still compared and concluded). The caller opens and
	// closes it; it must outlive Finish.
	Store *store.Store
	// Meta is what the history knows of the run before it starts: plan,
	// kind, target, tags, host, git, steps (MetaOf fills it from a plan).
	Meta store.Meta
	// Base is the run to compare with (store.Resolve finds "baseline:NAME"
	// or "latest:NAME"; nil: no comparison).
	Base *result.Run
	// Gate is the least significant worsening that counts as a
	// regression (0.05 = 5%); 0 compares without gating.
	Gate float64
	// Sinks see every window after the history is handed it.
	Sinks []Sink
}

// MaxGate bounds Options.Gate: a regression gate of more than a
// hundredfold worsening gates nothing.
const MaxGate = 100.0

// windowQueue is how many closed windows wait for the history before
// Window drops them (the final Run still carries every one).
const windowQueue = 64

// finishTimeout bounds the final write, which goes ahead even when the
// run's context is cancelled (an interrupted run keeps its results).
const finishTimeout = 30 * time.Second

// appendTimeout bounds one batch of windows.
const appendTimeout = 10 * time.Second

// Recording is one run being recorded. Window is called from one
// goroutine at a time; Finish (or Abort) once, after the last Window. ID
// may be called from any goroutine.
type Recording struct {
	o  Options
	id string

	windows chan result.Window // nil when nothing is stored
	done    chan struct{}      // closed when the appender has written its last batch

	mu       sync.Mutex // guards closed, finished and late
	closed   bool       // windows is closed
	finished bool       // Finish or Abort ran
	late     error      // the first batch of windows the history refused
}

// Outcome is how a finished run compares and what reached the history.
type Outcome struct {
	// Regressed: the comparison found a significant worsening beyond
	// the gate (always false without a gate).
	Regressed bool
	// Late is the first error of writing windows as they closed: the
	// history held only part of the run while it went, but the final Run
	// was stored whole. Nil when every window arrived in time.
	Late error
}

// ErrFinished is returned by a second Finish or Abort.
var ErrFinished = errors.New("the recording is already finished")

// Begin starts recording a run: it validates the options and, with a
// Store, records the run as running. The run's id is ID.
func Begin(ctx context.Context, o Options) (*Recording, error) {
	if !(o.Gate >= 0 && o.Gate <= MaxGate) { // NaN too
		return nil, fmt.Errorf("regression gate %g: want a fraction between 0 and %g (0.05 = 5%%)", o.Gate, MaxGate)
	}
	if o.Gate > 0 && o.Base == nil {
		return nil, errors.New("a regression gate needs a run to compare with")
	}
	r := &Recording{o: o}
	if o.Store == nil {
		return r, nil
	}
	id, err := o.Store.Begin(ctx, o.Meta)
	if err != nil {
		return nil, fmt.Errorf("cannot record the run in %s: %w", o.Store.Location(), err)
	}
	r.id = id
	r.windows = make(chan result.Window, windowQueue)
	r.done = make(chan struct{})
	go r.appendLoop()
	return r, nil
}

// ID is the run's id in the history ("" when nothing is stored).
func (r *Recording) ID() string { return r.id }

// Window hands a closed window to the history and the sinks. It never
// blocks on the history: when too many windows wait, this one is left to
// the final Run. A window after Finish is ignored.
func (r *Recording) Window(w result.Window) {
	if r.windows != nil {
		r.mu.Lock()
		if !r.closed {
			select {
			case r.windows <- w:
			default: // the history is slow; the final Run still has every window
			}
		}
		r.mu.Unlock()
	}
	for _, s := range r.o.Sinks {
		s(w)
	}
}

// appendLoop writes each window as soon as it closes, with any others
// that closed meanwhile in one batch, so a killed process loses only the
// windows not yet closed.
func (r *Recording) appendLoop() {
	defer close(r.done)
	var batch []result.Window
	for w := range r.windows {
		batch = append(batch[:0], w)
	drain:
		for {
			select {
			case w, ok := <-r.windows:
				if !ok {
					break drain
				}
				batch = append(batch, w)
			default:
				break drain
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
		err := r.o.Store.AppendWindows(ctx, r.id, batch)
		cancel()
		if err != nil {
			r.mu.Lock()
			if r.late == nil {
				r.late = err
			}
			r.mu.Unlock()
		}
	}
}

// stop ends the window appender and waits for its last batch.
func (r *Recording) stop() error {
	r.mu.Lock()
	if r.finished {
		r.mu.Unlock()
		return ErrFinished
	}
	r.finished = true
	if r.windows != nil && !r.closed {
		r.closed = true
		close(r.windows)
	}
	r.mu.Unlock()
	if r.done != nil {
		<-r.done
	}
	return nil
}

// Finish compares run with the reference, draws its conclusions once
// (analyze.Judge with the run's own analysis settings), and stores it as
// the run's final document. It sets run.Comparison, the conclusions and,
// once stored, run.ID. The write goes ahead when ctx is cancelled (an
// interrupted run keeps its results), bounded by a timeout of its own.
// The error says the run was not stored: the history then holds only its
// windows, which the next store.Open recovers as an aborted run; run is
// still compared and concluded.
func (r *Recording) Finish(ctx context.Context, run *result.Run) (Outcome, error) {
	var out Outcome
	if run == nil {
		return out, errors.New("cannot finish a recording without its run")
	}
	if err := r.stop(); err != nil {
		return out, err
	}
	if r.o.Base != nil {
		run.Comparison = analyze.Compare(r.o.Base, run, analyze.CompareOptions{Threshold: r.o.Gate})
		out.Regressed = r.o.Gate > 0 && run.Comparison.Regression
	}
	run.SetConclusion(analyze.Judge(run, run.Analysis))
	if r.o.Store == nil {
		return out, nil
	}
	r.mu.Lock()
	out.Late = r.late
	r.mu.Unlock()
	if err := r.store(ctx, run); err != nil {
		return out, err
	}
	run.ID = r.id
	return out, nil
}

// Abort records a run that produced no Run at all (its plan could not
// be compiled, its load was refused, its watch could not start): the
// history keeps it as aborted with why, and any windows it had.
func (r *Recording) Abort(ctx context.Context, why error) error {
	if err := r.stop(); err != nil {
		return err
	}
	if r.o.Store == nil {
		return nil
	}
	reason := "aborted"
	if why != nil {
		reason = why.Error()
	}
	return r.store(ctx, &result.Run{Version: result.Version, Kind: r.o.Meta.Kind, Plan: r.o.Meta.Plan, Aborted: true, AbortReason: reason})
}

func (r *Recording) store(ctx context.Context, run *result.Run) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	return r.o.Store.Finish(ctx, r.id, run)
}
