package dist

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	"github.com/stampede-perf/stampede/result"
)

// Config is one distributed test as the coordinator runs it.
type Config struct {
	// Agents is how many agents the test needs (1…MaxAgents).
	Agents int
	// Version is this stampede's release; agents must match it.
	Version string
	// Token is the shared secret every agent must present.
	Token string
	// TLS, when set, serves the agents over TLS.
	TLS *tls.Config
	// Job is what every agent runs; Segment and Proof are filled per
	// agent.
	Job Job
	// Heartbeat is how long an agent may stay silent before it counts as
	// lost (default 5s).
	Heartbeat time.Duration
	// Wait is how long to wait for all agents to join and be ready.
	Wait time.Duration
	// AbortOnLoss stops every agent when one is lost; otherwise the test
	// goes on with the rest.
	AbortOnLoss bool
	// Lead is how far ahead of the clock exchange the start instant is
	// set (default 1s).
	Lead time.Duration
	// OnWindow sees every merged window in time order; a non-empty
	// result stops every agent with that reason. Called from one
	// goroutine.
	OnWindow func(w result.Window) (stop string)
	// Logf reports joins, refusals, losses and warnings as they happen.
	Logf func(format string, args ...any)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Part is one agent's share of a finished test.
type Part struct {
	Segment string
	Host    string
	// Run is the agent's own final Run; nil when the agent was lost.
	Run *result.Run
	// Windows are the windows that arrived from the agent, in order.
	Windows []result.Window
	Lost    bool
	Reason  string // why the agent was lost
	// Offset is the agent's clock minus the coordinator's; RTT the round
	// trip of the exchange it was read from.
	Offset, RTT time.Duration
}

// Outcome is what the coordinator saw of a test.
type Outcome struct {
	Parts    []Part
	Aborted  bool
	Reason   string // why it was stopped
	Warnings []string
	// Late counts windows that came after their second was merged (the
	// live view missed them; the final Run has them).
	Late int
}

// Coordinator serves agents on a listener and runs one test with them.
type Coordinator struct {
	cfg    Config
	lis    net.Listener
	srv    *grpc.Server
	events chan event
	quit   chan struct{} // closed when Run returns
}

// event is what an agent's stream tells the coordinator's loop.
type event struct {
	a       *agentConn
	up      *up   // nil with err
	err     error // the stream ended
	badAuth bool  // the agent at a.addr was refused for its token
}

// agentConn is one agent's stream as the coordinator's loop sees it.
type agentConn struct {
	addr  string
	hello hello
	out   chan *down    // owned by the loop; closed when it is done with the agent
	sent  chan struct{} // closed when the writer has sent everything
	slot  int           // index into parts; -1 before the job
	ready bool
	done  bool
	gone  bool // stream ended or lost
	seen  time.Time
	pings []pong // answered pings
	rtts  []time.Duration
}

// outQueue is how many messages wait for a slow agent.
const outQueue = 256

// NewCoordinator prepares a coordinator on lis; Run serves it.
func NewCoordinator(lis net.Listener, cfg Config) (*Coordinator, error) {
	if cfg.Agents < 1 || cfg.Agents > MaxAgents {
		return nil, fmt.Errorf("--agents %d: want 1 to %d", cfg.Agents, MaxAgents)
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 5 * time.Second
	}
	if cfg.Wait <= 0 {
		cfg.Wait = time.Minute
	}
	if cfg.Lead <= 0 {
		cfg.Lead = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	size := len(cfg.Job.PlanYAML)
	for _, f := range cfg.Job.Files {
		size += len(f.Data)
	}
	if size > MaxShipped {
		return nil, fmt.Errorf("the plan and its files are %d MiB: at most %d MiB can be shipped to agents", size>>20, MaxShipped>>20)
	}
	c := &Coordinator{cfg: cfg, lis: lis, events: make(chan event, 64), quit: make(chan struct{})}
	opts := []grpc.ServerOption{
		grpc.ForceServerCodec(jsonCodec{}),
		grpc.StreamInterceptor(checkToken(cfg.Token, func(addr string) {
			c.post(event{a: &agentConn{addr: addr, slot: -1}, badAuth: true})
		})),
		grpc.UnaryInterceptor(refuseUnary),
		grpc.MaxRecvMsgSize(MaxMessage),
		grpc.MaxSendMsgSize(MaxMessage),
	}
	if c := transportCreds(cfg.TLS); c != nil {
		opts = append(opts, grpc.Creds(c))
	}
	c.srv = grpc.NewServer(opts...)
	c.srv.RegisterService(&serviceDesc, c)
	return c, nil
}

// Addr is where agents dial.
func (c *Coordinator) Addr() net.Addr { return c.lis.Addr() }

// join serves one agent's stream: it hands what the agent sends to the
// loop and writes what the loop queues for it.
func (c *Coordinator) join(ss grpc.ServerStream) error {
	a := &agentConn{slot: -1, out: make(chan *down, outQueue), sent: make(chan struct{})}
	if p, ok := peer.FromContext(ss.Context()); ok {
		a.addr = p.Addr.String()
	}
	out := a.out
	go func() {
		defer close(a.sent)
		for m := range out {
			if ss.SendMsg(m) != nil {
				for range out { // the loop learns of the end from the reader
				}
				return
			}
		}
	}()
	for {
		u := new(up)
		if err := ss.RecvMsg(u); err != nil {
			c.post(event{a: a, err: err})
			break
		}
		if !c.post(event{a: a, up: u}) {
			break
		}
	}
	select { // the loop closes out when it is done with the agent
	case <-a.sent:
	case <-c.quit:
	}
	return nil
}

// post hands an event to the loop; false once the test is over.
func (c *Coordinator) post(e event) bool {
	select {
	case c.events <- e:
		return true
	case <-c.quit:
		return false
	}
}

// run is the loop's state.
type run struct {
	c       *Coordinator
	slots   []*agentConn // by segment index; nil while free
	parts   []Part
	refused []string
	merge   *merger
	out     Outcome
	stopped bool
	started bool
	failed  error // an agent could not run the job
}

// Run waits for the agents, starts them on one instant, merges their
// windows as they arrive and returns when every agent has finished or
// been lost. Cancelling ctx stops every agent (their partial Runs still
// come back). The error says the test could not start.
func (c *Coordinator) Run(ctx context.Context) (*Outcome, error) {
	go c.srv.Serve(c.lis)
	defer func() {
		close(c.quit)
		c.srv.Stop()
	}()
	r := &run{c: c, slots: make([]*agentConn, c.cfg.Agents), parts: make([]Part, c.cfg.Agents), merge: newMerger(c.cfg.Agents)}
	for i := range r.parts {
		r.parts[i].Segment = fmt.Sprintf("%d/%d", i+1, c.cfg.Agents)
	}
	if err := r.gather(ctx); err != nil {
		r.stopAll(err.Error())
		r.drain()
		return nil, err
	}
	r.syncClocks(ctx)
	r.started = true
	if err := r.loop(ctx); err != nil {
		return nil, err
	}
	r.out.Parts = r.parts
	r.out.Late = r.merge.late
	if r.out.Late > 0 {
		r.out.Warnings = append(r.out.Warnings, fmt.Sprintf("%d agent windows reached the coordinator after their second was shown; the final Run has them", r.out.Late))
	}
	return &r.out, nil
}

// gather waits until every slot holds a ready agent.
func (r *run) gather(ctx context.Context) error {
	c := r.c
	deadline := time.NewTimer(c.cfg.Wait)
	defer deadline.Stop()
	c.cfg.Logf("waiting up to %v for %d agent(s) on %s", c.cfg.Wait, c.cfg.Agents, c.lis.Addr())
	// The agents that joined hear from the coordinator while the others
	// come, or they would count it lost.
	beat := time.NewTicker(min(time.Second, c.cfg.Heartbeat/2))
	defer beat.Stop()
	for {
		if r.readyCount() == c.cfg.Agents {
			return nil
		}
		select {
		case <-beat.C:
			for _, a := range r.slots {
				if a != nil && !a.gone {
					r.send(a, &down{Beat: true})
				}
			}
		case <-ctx.Done():
			return errors.New("interrupted while waiting for agents")
		case <-deadline.C:
			msg := fmt.Sprintf("waited %v for %d agent(s) on %s: %d joined", c.cfg.Wait, c.cfg.Agents, c.lis.Addr(), r.joinedCount())
			if len(r.refused) > 0 {
				msg += "; refused: " + strings.Join(r.refused, "; ")
			}
			return errors.New(msg + " (start them with: stampede agent --coordinator HOST:PORT)")
		case e := <-c.events:
			if err := r.handle(e); err != nil {
				return err
			}
		}
	}
}

func (r *run) readyCount() int {
	n := 0
	for _, a := range r.slots {
		if a != nil && a.ready {
			n++
		}
	}
	return n
}

func (r *run) joinedCount() int {
	n := 0
	for _, a := range r.slots {
		if a != nil {
			n++
		}
	}
	return n
}

// name is how messages call an agent.
func (r *run) name(a *agentConn) string {
	host := a.hello.Host
	if host == "" {
		host = a.addr
	}
	if a.slot < 0 {
		return "agent at " + host
	}
	return fmt.Sprintf("agent %s (%s)", r.parts[a.slot].Segment, host)
}

// handle takes one event in any state.
func (r *run) handle(e event) error {
	c, a, now := r.c, e.a, r.c.cfg.Now()
	if e.badAuth {
		why := fmt.Sprintf("agent at %s: %s", a.addr, errWrongToken)
		r.refused = append(r.refused, why)
		c.cfg.Logf("refused %s", why)
		return nil
	}
	if e.err != nil {
		return r.ended(a, e.err)
	}
	if a.gone {
		return nil
	}
	a.seen = now
	u := e.up
	switch {
	case u.Hello != nil:
		r.welcome(a, *u.Hello)
	case u.Fail != "":
		if a.slot >= 0 && r.failed == nil {
			r.failed = fmt.Errorf("%s cannot run the test: %s", r.name(a), oneLine(u.Fail))
			return r.failed
		}
	case u.Ready:
		if a.slot >= 0 {
			a.ready = true
			c.cfg.Logf("%s is ready (%d of %d)", r.name(a), r.readyCount(), c.cfg.Agents)
		}
	case u.Pong != nil:
		a.pings = append(a.pings, *u.Pong)
		a.rtts = append(a.rtts, now.Sub(time.Unix(0, u.Pong.T1)))
	case u.Window != nil && a.slot >= 0:
		p := &r.parts[a.slot]
		p.Windows = append(p.Windows, *u.Window)
		ws, err := r.merge.add(a.slot, *u.Window, now)
		r.emit(ws, err)
	case u.Done != nil && a.slot >= 0:
		a.done = true
		r.parts[a.slot].Run = u.Done
		ws, err := r.merge.drop(a.slot, now)
		r.emit(ws, err)
		r.release(a)
	}
	return nil
}

// welcome checks a hello and gives the agent its part, or refuses it.
func (r *run) welcome(a *agentConn, h hello) {
	c := r.c
	a.hello = h
	refuse := func(why string) {
		r.refused = append(r.refused, fmt.Sprintf("%s: %s", r.name(a), why))
		c.cfg.Logf("refused %s: %s", r.name(a), why)
		a.out <- &down{Refuse: why}
		r.release(a)
	}
	switch {
	case h.Version != c.cfg.Version || h.Protocol != Protocol:
		refuse(fmt.Sprintf("version mismatch: agent is stampede %s (protocol %d), coordinator %s (protocol %d): run the same release on both", h.Version, h.Protocol, c.cfg.Version, Protocol))
		return
	case r.started:
		refuse("the test has already started")
		return
	}
	slot := -1
	if h.Index >= 0 {
		switch {
		case h.Index >= c.cfg.Agents:
			refuse(fmt.Sprintf("index %d is out of range: the test has %d agent(s) (0 to %d)", h.Index, c.cfg.Agents, c.cfg.Agents-1))
			return
		case r.slots[h.Index] != nil:
			refuse(fmt.Sprintf("part %d/%d is already taken by %s", h.Index+1, c.cfg.Agents, r.name(r.slots[h.Index])))
			return
		}
		slot = h.Index
	} else {
		for i, s := range r.slots {
			if s == nil {
				slot = i
				break
			}
		}
	}
	if slot < 0 {
		refuse(fmt.Sprintf("the test already has its %d agent(s)", c.cfg.Agents))
		return
	}
	a.slot = slot
	r.slots[slot] = a
	r.parts[slot].Host = h.Host
	job := c.cfg.Job
	job.Segment = r.parts[slot].Segment
	job.HeartbeatMS = c.cfg.Heartbeat.Milliseconds()
	job.Proof = proof(c.cfg.Token, h.Nonce)
	c.cfg.Logf("%s joined from %s", r.name(a), a.addr)
	a.out <- &down{Job: &job}
}

// release closes the agent's queue: its stream ends once the queue is
// sent.
func (r *run) release(a *agentConn) {
	if a.out != nil {
		close(a.out)
		a.out = nil
	}
}

// send queues a message for an agent without blocking the loop.
func (r *run) send(a *agentConn, m *down) {
	if a.out == nil {
		return
	}
	select {
	case a.out <- m:
	default: // a stuck agent: the heartbeat will tell
	}
}

// ended handles the end of an agent's stream.
func (r *run) ended(a *agentConn, err error) error {
	if a.gone || a.done {
		a.gone = true
		r.release(a)
		return nil
	}
	a.gone = true
	r.release(a)
	if a.slot < 0 {
		return nil
	}
	if !r.started { // left before the start: its part is free again
		r.c.cfg.Logf("%s left before the start: %v", r.name(a), err)
		r.slots[a.slot] = nil
		return nil
	}
	return r.lose(a, fmt.Sprintf("its connection ended: %v", shortErr(err)))
}

// lose reports a lost agent, then goes on or stops everyone.
func (r *run) lose(a *agentConn, why string) error {
	c := r.c
	now := c.cfg.Now()
	a.gone = true
	r.release(a)
	p := &r.parts[a.slot]
	p.Lost, p.Reason = true, why
	msg := fmt.Sprintf("%s lost: %s", r.name(a), why)
	c.cfg.Logf("%s", msg)
	r.out.Warnings = append(r.out.Warnings, msg)
	ws, err := r.merge.drop(a.slot, now)
	r.emit(ws, err)
	if c.cfg.AbortOnLoss {
		r.stopAll(msg + " (distributed.on_agent_loss: abort)")
	}
	return nil
}

// stopAll stops every agent with a reason (once).
func (r *run) stopAll(reason string) {
	if r.stopped {
		return
	}
	r.stopped = true
	if r.started {
		r.out.Aborted, r.out.Reason = true, reason
	}
	for _, a := range r.slots {
		if a != nil && !a.gone && !a.done {
			r.send(a, &down{Stop: reason})
		}
	}
}

// emit hands merged windows to OnWindow, stopping everyone when it asks.
func (r *run) emit(ws []result.Window, err error) {
	if err != nil {
		r.out.Warnings = append(r.out.Warnings, "merging the live windows: "+err.Error())
	}
	for _, w := range ws {
		if r.c.cfg.OnWindow == nil {
			continue
		}
		if why := r.c.cfg.OnWindow(w); why != "" && !r.stopped {
			r.c.cfg.Logf("stopping every agent: %s", why)
			r.stopAll(why)
		}
	}
}

// pings is how many clock exchanges each agent gets.
const pings = 5

// syncClocks estimates each agent's clock offset from a few exchanges
// (the one with the shortest round trip wins, as in NTP) and sends
// everyone the same start instant.
func (r *run) syncClocks(ctx context.Context) {
	c := r.c
	deadline := time.NewTimer(c.cfg.Heartbeat)
	defer deadline.Stop()
	for _, a := range r.slots {
		r.send(a, &down{Ping: &ping{Seq: 0, T1: c.cfg.Now().UnixNano()}})
	}
	for r.pinging() {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			c.cfg.Logf("the clock exchange took longer than %v; starting with what it has", c.cfg.Heartbeat)
			goto start
		case e := <-c.events:
			before := 0
			if e.a != nil {
				before = len(e.a.pings)
			}
			r.handle(e)
			if a := e.a; e.up != nil && len(a.pings) > before && len(a.pings) < pings && !a.gone {
				r.send(a, &down{Ping: &ping{Seq: len(a.pings), T1: c.cfg.Now().UnixNano()}})
			}
		}
	}
start:
	at := c.cfg.Now().Add(c.cfg.Lead)
	for i, a := range r.slots {
		if a == nil || a.gone {
			continue
		}
		p := &r.parts[i]
		best := -1
		for j := range a.pings {
			if best < 0 || a.rtts[j] < a.rtts[best] {
				best = j
			}
		}
		if best >= 0 {
			pg := a.pings[best]
			p.RTT = a.rtts[best]
			t3 := pg.T1 + int64(p.RTT)
			p.Offset = time.Duration(pg.T2 - (pg.T1+t3)/2)
		}
		if off := p.Offset.Abs(); off > 10*time.Millisecond {
			w := fmt.Sprintf("agent %s (%s): its clock is %v off the coordinator's (round trip %v); its start was moved by as much, but check its time synchronization", p.Segment, p.Host, p.Offset.Round(time.Millisecond), p.RTT.Round(time.Microsecond))
			c.cfg.Logf("%s", w)
			r.out.Warnings = append(r.out.Warnings, w)
		}
		r.send(a, &down{Start: &start{At: at.UnixNano(), Offset: int64(p.Offset)}})
	}
	c.cfg.Logf("all %d agent(s) start at %s", c.cfg.Agents, at.Format("15:04:05.000"))
}

func (r *run) pinging() bool {
	for _, a := range r.slots {
		if a != nil && !a.gone && len(a.pings) < pings {
			return true
		}
	}
	return false
}

// loop runs the test: windows, heartbeats, losses, until every agent is
// done or lost.
func (r *run) loop(ctx context.Context) error {
	c := r.c
	beat := time.NewTicker(min(time.Second, c.cfg.Heartbeat/2))
	defer beat.Stop()
	for _, a := range r.slots {
		if a != nil {
			a.seen = c.cfg.Now()
		}
	}
	interrupted := ctx.Done()
	for !r.finished() {
		select {
		case <-interrupted:
			interrupted = nil
			r.stopAll("interrupted")
		case e := <-c.events:
			r.handle(e)
		case <-beat.C:
			now := c.cfg.Now()
			for _, a := range r.slots {
				if a == nil || a.gone || a.done {
					continue
				}
				if silent := now.Sub(a.seen); silent > c.cfg.Heartbeat {
					r.lose(a, fmt.Sprintf("no heartbeat for %v", silent.Round(100*time.Millisecond)))
					continue
				}
				r.send(a, &down{Beat: true})
			}
			ws, err := r.merge.ready(now, false)
			r.emit(ws, err)
		}
	}
	ws, err := r.merge.ready(c.cfg.Now(), true)
	r.emit(ws, err)
	return nil
}

func (r *run) finished() bool {
	for _, a := range r.slots {
		if a != nil && !a.gone && !a.done {
			return false
		}
	}
	return true
}

// drain waits briefly for the queued refusals and stops to be sent.
func (r *run) drain() {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	for _, a := range r.slots {
		if a == nil {
			continue
		}
		r.release(a)
		select {
		case <-a.sent:
		case <-t.C:
			return
		}
	}
}

// shortErr is an error's message without gRPC's "rpc error: code = …
// desc =" prefix.
func shortErr(err error) string {
	s := err.Error()
	if _, d, ok := strings.Cut(s, "desc = "); ok {
		s = d
	}
	return oneLine(s)
}
