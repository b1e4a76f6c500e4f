package dist

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/stampede-perf/stampede/result"
)

// Runner runs the agent's part of the test from start (on the agent's
// own clock), handing each closed window to onWindow, until the load
// ends or ctx is cancelled (then its Run is partial, marked aborted).
type Runner func(ctx context.Context, start time.Time, onWindow func(result.Window)) (*result.Run, error)

// AgentConfig is one agent.
type AgentConfig struct {
	// Coordinator is the HOST:PORT to dial.
	Coordinator string
	Token       string
	// TLS, when set, dials over TLS.
	TLS *tls.Config
	// Index is the part asked for (0-based), or -1 for any.
	Index   int
	Version string
	Host    string
	// Wait is how long to keep trying to reach the coordinator.
	Wait time.Duration
	// Prepare turns the job into a runner (loads and compiles the plan);
	// its error is sent to the coordinator.
	Prepare func(job *Job) (Runner, error)
	Logf    func(format string, args ...any)
	Now     func() time.Time
}

// AgentResult is what an agent did.
type AgentResult struct {
	Job *Job
	// Run is the agent's own Run (partial when it was stopped or lost
	// its coordinator); nil when the load never started.
	Run *result.Run
	// Stopped is why the coordinator stopped the load early ("" when it
	// ran to its end).
	Stopped string
	// Lost says the coordinator went away mid-test.
	Lost error
}

// agent is one session's state.
type agent struct {
	cfg    AgentConfig
	stream grpc.ClientStream
	out    chan *up
	sendMu sync.Mutex // guards closed
	closed bool
	nonce  string
}

// RunAgent joins the coordinator, runs the part it is given and hands
// back the agent's own Run. The error says why the agent could not take
// part (unreachable coordinator, refused, a job it cannot run), in one
// line.
func RunAgent(ctx context.Context, cfg AgentConfig) (*AgentResult, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Wait <= 0 {
		cfg.Wait = time.Minute
	}
	creds := insecure.NewCredentials()
	if cfg.TLS != nil {
		creds = transportCreds(cfg.TLS)
	}
	conn, err := grpc.NewClient(cfg.Coordinator,
		grpc.WithTransportCredentials(creds),
		grpc.WithPerRPCCredentials(tokenCreds(cfg.Token)),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(jsonCodec{}), grpc.MaxCallRecvMsgSize(MaxMessage), grpc.MaxCallSendMsgSize(MaxMessage)))
	if err != nil {
		return nil, fmt.Errorf("--coordinator %s: %v", cfg.Coordinator, err)
	}
	defer conn.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a := &agent{cfg: cfg, out: make(chan *up, outQueue)}
	if a.stream, err = a.dial(sctx, conn); err != nil {
		return nil, err
	}
	var nb [16]byte
	rand.Read(nb[:])
	a.nonce = hex.EncodeToString(nb[:])
	if err := a.stream.SendMsg(&up{Hello: &hello{Version: cfg.Version, Protocol: Protocol, Host: cfg.Host, Nonce: a.nonce, Index: cfg.Index}}); err != nil {
		if errors.Is(err, io.EOF) { // the stream ended: its status says why
			err = a.recvWithin(new(down), cfg.Wait)
		}
		return nil, a.refused(err)
	}
	first := new(down)
	if err := a.recvWithin(first, cfg.Wait); err != nil {
		return nil, a.refused(err)
	}
	switch {
	case first.Refuse != "":
		return nil, fmt.Errorf("the coordinator at %s refused this agent: %s", cfg.Coordinator, first.Refuse)
	case first.Job == nil:
		return nil, fmt.Errorf("the coordinator at %s sent no job", cfg.Coordinator)
	case !hmac.Equal([]byte(first.Job.Proof), []byte(proof(cfg.Token, a.nonce))):
		return nil, fmt.Errorf("the coordinator at %s does not know this agent's token: %s", cfg.Coordinator, errWrongToken)
	}
	job := first.Job
	cfg.Logf("joined %s as part %s", cfg.Coordinator, job.Segment)
	go a.writer()
	runner, err := cfg.Prepare(job)
	if err != nil {
		a.send(&up{Fail: oneLine(err.Error())})
		a.finish()
		// The coordinator ends the stream once it has read why; leaving
		// first could cut the message off.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && a.recvWithin(new(down), time.Until(deadline)) == nil {
		}
		return &AgentResult{Job: job}, err
	}
	a.send(&up{Ready: true})
	res, err := a.session(ctx, job, runner)
	a.finish()
	return res, err
}

// dial opens the stream once the connection is ready, trying again while
// the coordinator cannot be reached, for at most cfg.Wait (gRPC's own
// connection attempts may take longer than that: the wait bounds them).
func (a *agent) dial(ctx context.Context, conn *grpc.ClientConn) (grpc.ClientStream, error) {
	dctx, cancel := context.WithTimeout(ctx, a.cfg.Wait)
	defer cancel()
	unreachable := func(why string) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("cannot reach the coordinator at %s within %v: %s", a.cfg.Coordinator, a.cfg.Wait, why)
	}
	conn.Connect()
	for {
		for st := conn.GetState(); st != connectivity.Ready; st = conn.GetState() {
			if !conn.WaitForStateChange(dctx, st) {
				return nil, unreachable("the connection is " + strings.ToLower(st.String()))
			}
		}
		s, err := conn.NewStream(ctx, &serviceDesc.Streams[0], joinMethod)
		if err == nil {
			return s, nil
		}
		if status.Code(err) != codes.Unavailable || dctx.Err() != nil {
			return nil, unreachable(shortErr(err))
		}
	}
}

// refused turns the first exchange's error into the one-line reason.
func (a *agent) refused(err error) error {
	switch st, _ := status.FromError(err); st.Code() {
	case codes.Unauthenticated:
		return fmt.Errorf("the coordinator at %s refused this agent: %s", a.cfg.Coordinator, st.Message())
	case codes.Unavailable:
		return fmt.Errorf("cannot reach the coordinator at %s: %s", a.cfg.Coordinator, st.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("the coordinator at %s did not answer within %v", a.cfg.Coordinator, a.cfg.Wait)
	}
	return fmt.Errorf("the coordinator at %s: %s", a.cfg.Coordinator, shortErr(err))
}

// recvWithin receives one message, giving up (and ending the stream)
// after d.
func (a *agent) recvWithin(m *down, d time.Duration) error {
	got := make(chan error, 1)
	go func() { got <- a.stream.RecvMsg(m) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-got:
		return err
	case <-t.C:
		return status.Error(codes.DeadlineExceeded, "no answer")
	}
}

// writer sends what the agent queues, in order, and half-closes the
// stream when the queue is closed.
func (a *agent) writer() {
	for m := range a.out {
		if a.stream.SendMsg(m) != nil {
			for range a.out {
			}
			return
		}
	}
	a.stream.CloseSend()
}

// send queues a message; windows and beats never block (a stuck
// connection is the heartbeat's business), the rest waits its turn.
func (a *agent) send(m *up) {
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	if a.closed {
		return
	}
	if m.Window != nil || m.Beat {
		select {
		case a.out <- m:
		default:
		}
		return
	}
	a.out <- m
}

// finish closes the queue.
func (a *agent) finish() {
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	if !a.closed {
		a.closed = true
		close(a.out)
	}
}

// session answers the clock exchange, runs the load from the start
// instant, streams its windows and hands back its Run.
func (a *agent) session(ctx context.Context, job *Job, runner Runner) (*AgentResult, error) {
	hb := time.Duration(job.HeartbeatMS) * time.Millisecond
	if hb <= 0 {
		hb = 5 * time.Second
	}
	downs := make(chan *down, 16)
	recvErr := make(chan error, 1)
	go func() {
		for {
			m := new(down)
			if err := a.stream.RecvMsg(m); err != nil {
				recvErr <- err
				return
			}
			downs <- m
		}
	}()
	res := &AgentResult{Job: job}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	done := make(chan error, 1)
	running := false
	lastHeard := a.cfg.Now()
	beat := time.NewTicker(min(time.Second, hb/2))
	defer beat.Stop()
	lose := func(why error) {
		res.Lost = why
		a.cfg.Logf("%v: stopping the load", why)
		stopRun()
	}
	for {
		select {
		case m := <-downs:
			lastHeard = a.cfg.Now()
			switch {
			case m.Ping != nil:
				a.send(&up{Pong: &pong{Seq: m.Ping.Seq, T1: m.Ping.T1, T2: a.cfg.Now().UnixNano()}})
			case m.Start != nil && !running:
				running = true
				at := time.Unix(0, m.Start.At+m.Start.Offset)
				go func() {
					run, err := runner(runCtx, at, func(w result.Window) { a.send(&up{Window: &w}) })
					res.Run = run
					done <- err
				}()
			case m.Stop != "":
				if res.Stopped == "" {
					res.Stopped = m.Stop
					a.cfg.Logf("the coordinator stopped the test: %s", m.Stop)
				}
				stopRun()
				if !running {
					return res, fmt.Errorf("the coordinator stopped the test before it started: %s", m.Stop)
				}
			}
		case err := <-recvErr:
			recvErr = nil
			why := fmt.Errorf("lost the coordinator at %s: %s", a.cfg.Coordinator, endText(err))
			if !running {
				return res, why
			}
			if res.Lost == nil && res.Stopped == "" {
				lose(why)
			}
		case <-beat.C:
			if silent := a.cfg.Now().Sub(lastHeard); silent > hb && res.Lost == nil && recvErr != nil {
				why := fmt.Errorf("lost the coordinator at %s: no heartbeat for %v", a.cfg.Coordinator, silent.Round(100*time.Millisecond))
				if !running {
					return res, why
				}
				lose(why)
				continue
			}
			a.send(&up{Beat: true})
		case err := <-done:
			if res.Run != nil && res.Lost == nil {
				a.send(&up{Done: res.Run})
				a.finish()
				a.awaitEnd(recvErr, hb)
			}
			if res.Lost != nil {
				return res, res.Lost
			}
			if err != nil && res.Stopped == "" && !errors.Is(err, context.Canceled) {
				return res, err
			}
			return res, nil
		}
	}
}

// awaitEnd waits for the coordinator to end the stream after the last
// message, at most d.
func (a *agent) awaitEnd(recvErr chan error, d time.Duration) {
	if recvErr == nil {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-recvErr:
	case <-t.C:
	}
}

func endText(err error) string {
	if errors.Is(err, io.EOF) {
		return "it ended the connection"
	}
	return shortErr(err)
}
