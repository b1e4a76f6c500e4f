package ws

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	httpstep "github.com/stampede-perf/stampede/proto/http"
	"github.com/stampede-perf/stampede/tmpl"
)

// Config is what every ws step of a test shares.
type Config struct {
	Slot    int           // index of the VU's *Client in VU.Slots
	Timeout time.Duration // default per step (connect, expect)
	TLS     *tls.Config   // wss:// connections (nil: the defaults)
	// MaxMessage bounds a received message (target.max_body); a larger
	// one closes the connection with status 1009.
	MaxMessage int64
}

// Step is one compiled ws step. It is shared by all VUs and read only.
type Step struct {
	cfg     Config
	name    string
	connect *tmpl.Template
	base    *url.URL // target.base_url for a connect path
	headers []header
	protos  []string
	msg     *tmpl.Template
	binary  bool
	expect  *tmpl.Check
	regex   *regexp.Regexp
	check   *tmpl.Check
	extract tmpl.Extractors
	hold    time.Duration
	every   time.Duration // hold: between messages
	close   bool
	last    bool // the scenario's last ws step: close after it
	timeout time.Duration
}

type header struct {
	name  string
	value *tmpl.Template
}

var _ load.Step = (*Step)(nil)

// Compile compiles st (which has a ws block) with target's base URL and
// headers. last says whether st is its scenario's last ws step.
func Compile(target plan.Target, st *plan.Step, c *tmpl.Compiler, cfg Config, last bool) (*Step, error) {
	w := st.WS
	s := &Step{cfg: cfg, name: st.Name, protos: w.Subprotocols, binary: w.Binary, hold: w.Hold.D(),
		close: w.Close, last: last, timeout: st.Timeout.D()}
	if s.timeout <= 0 {
		s.timeout = cfg.Timeout
	}
	var err error
	if w.Connect != "" {
		if s.connect, err = c.Compile(w.Connect); err != nil {
			return nil, fieldErr("ws.connect", err)
		}
		if !strings.Contains(w.Connect, "://") {
			if s.base, err = url.Parse(target.BaseURL); err != nil || target.BaseURL == "" {
				return nil, fieldErr("ws.connect", fmt.Errorf("%q is a path and target.base_url is not a URL", w.Connect))
			}
		}
		for _, h := range []map[string]string{target.Headers, st.Headers} {
			for _, k := range slices.Sorted(maps.Keys(h)) {
				t, err := c.Compile(h[k])
				if err != nil {
					return nil, fieldErr("headers"+"."+k, err)
				}
				s.headers = append(s.headers, header{http.CanonicalHeaderKey(k), t})
			}
		}
	}
	text := w.Send
	if w.JSON != nil {
		if text, err = httpstep.JSONBody(w.JSON); err != nil {
			return nil, fieldErr("ws.json", err)
		}
	}
	if len(text) > plan.MaxRequestBody {
		return nil, fieldErr("ws.json", fmt.Errorf("%d bytes encoded; at most %d are allowed", len(text), plan.MaxRequestBody))
	}
	if text != "" {
		if s.msg, err = c.Compile(text); err != nil {
			return nil, fieldErr("ws.send", err)
		}
	}
	if e := w.Expect; e != nil {
		if s.expect, err = tmpl.CompileCheck(&plan.Check{JSON: e.JSON}); err != nil {
			return nil, fieldErr("ws.expect", err)
		}
		if e.Regex != "" {
			if s.regex, err = regexp.Compile(e.Regex); err != nil {
				return nil, fieldErr("ws.expect.regex", err)
			}
		}
	}
	if st.Check != nil {
		if s.check, err = tmpl.CompileCheck(st.Check); err != nil {
			return nil, fieldErr("check", err)
		}
	}
	var k string
	if s.extract, k, err = tmpl.CompileExtractors(st.Extract); err != nil {
		return nil, fieldErr("extract."+k, err)
	}
	if w.Rate > 0 {
		s.every = time.Duration(float64(time.Second) / w.Rate)
	}
	return s, nil
}

// Vars lists the variables the step's templates read.
func (s *Step) Vars() []string {
	var out []string
	for _, t := range []*tmpl.Template{s.connect, s.msg} {
		if t != nil {
			out = append(out, t.Vars()...)
		}
	}
	for _, h := range s.headers {
		out = append(out, h.value.Vars()...)
	}
	return out
}

// Sets lists the variables the step extracts.
func (s *Step) Sets() []string { return s.extract.Names() }

// Do runs the step's parts in order: connect, send, expect, hold, close.
func (s *Step) Do(ctx context.Context, vu *load.VU, smp *metrics.Sample) (send, end time.Time) {
	cl := vu.Slots[s.cfg.Slot].(*Client)
	state, _ := vu.State.(*tmpl.State)
	send = time.Now()
	if cl.conn != nil && cl.iter != vu.Iter {
		cl.closeConn(websocket.StatusGoingAway)
	}
	fail := func(kind metrics.ErrKind, status int, format string, args ...any) (time.Time, time.Time) {
		smp.Kind, smp.Status = kind, uint16(status)
		if vu.WantExample(kind) {
			vu.Example(kind, fmt.Sprintf("step %q: ", s.name)+fmt.Sprintf(format, args...))
		}
		cl.report(smp)
		return send, time.Now()
	}
	var buf []byte
	if s.connect != nil {
		buf = s.connect.Append(cl.buf[:0], state)
		raw := string(buf)
		if end, ok := vu.FailMissing(s.name, smp); ok {
			return send, end
		}
		u, err := s.target(raw)
		if err != nil {
			return fail(metrics.KindOther, 0, "%v", err)
		}
		if cl.conn != nil {
			cl.closeConn(websocket.StatusNormalClosure)
		}
		h := http.Header{}
		for _, hd := range s.headers {
			h.Set(hd.name, hd.value.String(state))
		}
		dctx, cancel := context.WithTimeout(ctx, s.timeout)
		status, err := cl.dial(dctx, u, h, s.protos, s.cfg)
		cancel()
		smp.ConnUS = metrics.Micros(time.Since(send))
		smp.Status = uint16(status)
		if err != nil {
			switch {
			case status >= 500:
				return fail(metrics.KindHTTP5xx, status, "handshake refused: %v", err)
			case status >= 400:
				return fail(metrics.KindHTTP4xx, status, "handshake refused: %v", err)
			}
			return fail(httpstep.Classify(err), status, "cannot connect to %s: %v", u, err)
		}
		cl.iter = vu.Iter
	}
	if cl.conn == nil {
		return fail(metrics.KindWSClosed, int(websocket.StatusAbnormalClosure), "no open WebSocket connection (an earlier step closed it or failed to open it)")
	}
	from := send
	if s.msg != nil && s.hold == 0 {
		if s.expect != nil || s.regex != nil {
			cl.drain() // a reply cannot come before its message
		}
		from = time.Now()
		buf = s.msg.Append(cl.buf[:0], state)
		cl.buf = buf
		if end, ok := vu.FailMissing(s.name, smp); ok {
			return send, end
		}
		if err := cl.write(ctx, buf, s.binary, s.timeout); err != nil {
			return s.lost(cl, fail, err)
		}
		smp.MsgsOut++
		smp.BytesOut += uint32(len(buf))
	}
	if s.expect != nil || s.regex != nil {
		msg, err := cl.await(ctx, s.timeout, s.matches)
		if err != nil {
			if errors.Is(err, errTimeout) {
				return fail(metrics.KindTimeout, 0, "no matching message within %v (%d received)", s.timeout, cl.gotN.Load()-cl.reported)
			}
			return s.lost(cl, fail, err)
		}
		smp.TTFBUS = metrics.Micros(time.Since(from))
		if s.check != nil {
			if ok, reason := s.check.Check(200, msg); !ok {
				return fail(metrics.KindCheckFailed, 0, "%s", reason)
			}
		}
		if name, ok := s.extract.Apply(msg, state); !ok {
			return fail(metrics.KindExtractFailed, 0, "extract %s: nothing matched in the message", name)
		}
	}
	if s.hold > 0 {
		if err := s.holdConn(ctx, cl, state, smp); err != nil {
			if errors.Is(err, context.Canceled) {
				return send, time.Now()
			}
			return s.lost(cl, fail, err)
		}
	}
	end = time.Now()
	if s.close {
		cl.closeConn(websocket.StatusNormalClosure)
		end = time.Now()
	}
	cl.report(smp)
	if s.last && !s.close {
		cl.closeConn(websocket.StatusNormalClosure) // not part of the step's time
	}
	return send, end
}

// lost reports a connection that failed under the step: closed by the
// peer (its close code) or dropped (1006), or a timeout writing.
func (s *Step) lost(cl *Client, fail func(metrics.ErrKind, int, string, ...any) (time.Time, time.Time), err error) (time.Time, time.Time) {
	if rerr := cl.readErr(); rerr != nil {
		err = rerr
	}
	cl.closeConn(websocket.StatusGoingAway)
	code := websocket.CloseStatus(err)
	if code == -1 {
		if k := httpstep.Classify(err); k == metrics.KindTimeout {
			return fail(k, 0, "%v", err)
		}
		return fail(metrics.KindWSClosed, int(websocket.StatusAbnormalClosure), "connection dropped without a close frame: %v", err)
	}
	return fail(metrics.KindWSClosed, int(code), "server closed the connection: %v", err)
}

func (s *Step) matches(msg []byte) bool {
	if s.regex != nil && !s.regex.Match(msg) {
		return false
	}
	if s.expect != nil {
		ok, _ := s.expect.Check(200, msg)
		return ok
	}
	return true
}

// holdConn keeps the connection for s.hold, sending the step's message
// every s.every when it has one, counting what arrives.
func (s *Step) holdConn(ctx context.Context, cl *Client, state *tmpl.State, smp *metrics.Sample) error {
	stop := time.NewTimer(s.hold)
	defer stop.Stop()
	var tick <-chan time.Time
	send := func() error {
		cl.buf = s.msg.Append(cl.buf[:0], state)
		if err := cl.write(ctx, cl.buf, s.binary, s.timeout); err != nil {
			return err
		}
		smp.MsgsOut++
		smp.BytesOut += uint32(len(cl.buf))
		return nil
	}
	if s.every > 0 && s.msg != nil {
		// The first message at once, so a hold of d at rate r sends d×r.
		if err := send(); err != nil {
			return err
		}
		t := time.NewTicker(s.every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stop.C:
			return nil
		case _, ok := <-cl.msgs:
			if !ok {
				return cl.readErr()
			}
		case <-tick:
			if err := send(); err != nil {
				return err
			}
		}
	}
}

// target resolves the expanded connect URL.
func (s *Step) target(raw string) (string, error) {
	if s.base == nil {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			return "", fmt.Errorf("ws.connect %q is not a ws:// or wss:// URL", raw)
		}
		return raw, nil
	}
	ref, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("ws.connect %q: %v", raw, err)
	}
	u := s.base.ResolveReference(ref)
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	return u.String(), nil
}

func fieldErr(field string, err error) error { return &httpstep.FieldError{Field: field, Err: err} }
