package grpc

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	httpstep "github.com/stampede-perf/stampede/proto/http"
	"github.com/stampede-perf/stampede/tmpl"
)

// Config is what every grpc step of a test shares.
type Config struct {
	Slot    int           // index of the VU's *Client in VU.Slots
	Timeout time.Duration // default deadline of a call
	TLS     *tls.Config   // grpcs:// connections (nil: the defaults)
	// MaxMessage bounds a received message (target.max_body).
	MaxMessage int
}

// Types holds the message types of one plan's grpc steps: the compiled
// .proto files, by file set, and the reflection lookups, by server. It is
// safe for concurrent use.
type Types struct {
	cfg Config

	mu         sync.Mutex // guards the maps
	compiled   map[string]resolver
	reflectors map[string]*reflector
}

// NewTypes returns the type source of a plan's grpc steps.
func NewTypes(cfg Config) *Types {
	return &Types{cfg: cfg, compiled: map[string]resolver{}, reflectors: map[string]*reflector{}}
}

// compileTimeout bounds compiling one set of .proto files.
const compileTimeout = 30 * time.Second

func (ty *Types) protos(files, importPaths []string) (resolver, error) {
	key := strings.Join(importPaths, "\x00") + "\x01" + strings.Join(files, "\x00")
	ty.mu.Lock()
	defer ty.mu.Unlock()
	if r := ty.compiled[key]; r != nil {
		return r, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), compileTimeout)
	defer cancel()
	r, err := CompileProtos(ctx, files, importPaths)
	if err != nil {
		return nil, err
	}
	ty.compiled[key] = r
	return r, nil
}

func (ty *Types) reflector(s *Step) *reflector {
	key := s.server.key()
	ty.mu.Lock()
	defer ty.mu.Unlock()
	r := ty.reflectors[key]
	if r == nil {
		r = newReflector(func() (*grpc.ClientConn, error) { return dial(s.server, ty.cfg) })
		ty.reflectors[key] = r
	}
	return r
}

// server is where a step's calls go.
type server struct {
	addr string
	tls  bool
}

func (sv server) key() string {
	if sv.tls {
		return "grpcs://" + sv.addr
	}
	return "grpc://" + sv.addr
}

// Step is one compiled grpc step, shared by all VUs and read only but for
// the method resolved by reflection.
type Step struct {
	cfg     Config
	name    string
	server  server
	full    string // "/pkg.Service/Method"
	method  string
	md      atomic.Pointer[methodDesc] // set at compile (.proto) or on first use (reflection)
	reflect *reflector
	msg     *tmpl.Template
	meta    []metaPair
	check   *tmpl.Check
	extract tmpl.Extractors
	timeout time.Duration
}

type methodDesc struct{ protoreflect.MethodDescriptor }

type metaPair struct {
	key   string
	value *tmpl.Template
}

var _ load.Step = (*Step)(nil)

// Compile compiles st (which has a grpc block) with target's base URL,
// compiling its .proto files or preparing the reflection lookup in ty.
// Problems are *httpstep.FieldError naming the field.
func Compile(target plan.Target, st *plan.Step, c *tmpl.Compiler, ty *Types) (*Step, error) {
	g := st.GRPC
	s := &Step{cfg: ty.cfg, name: st.Name, method: strings.TrimPrefix(g.Method, "/"), timeout: st.Timeout.D()}
	s.full = "/" + s.method
	if s.timeout <= 0 {
		s.timeout = ty.cfg.Timeout
	}
	sv, err := serverOf(g.URL, target.BaseURL)
	if err != nil {
		return nil, fieldErr("grpc.url", err)
	}
	s.server = sv
	text := "{}"
	switch m := g.Message.(type) {
	case nil:
	case string:
		text = m
	default:
		if text, err = httpstep.JSONBody(m); err != nil {
			return nil, fieldErr("grpc.message", err)
		}
	}
	if len(text) > plan.MaxRequestBody {
		return nil, fieldErr("grpc.message", fmt.Errorf("%d bytes encoded; at most %d are allowed", len(text), plan.MaxRequestBody))
	}
	if s.msg, err = c.Compile(text); err != nil {
		return nil, fieldErr("grpc.message", err)
	}
	if len(g.Proto) > 0 {
		files, paths := protoPaths(g.Proto, g.ImportPaths)
		r, err := ty.protos(files, paths)
		if err != nil {
			return nil, fieldErr("grpc.proto", err)
		}
		md, err := findMethod(r, s.method)
		if err != nil {
			return nil, fieldErr("grpc.method", err)
		}
		s.md.Store(&methodDesc{md})
		if err := checkMessage(text, md.Input()); err != nil {
			return nil, fieldErr("grpc.message", err)
		}
	} else {
		s.reflect = ty.reflector(s)
	}
	for _, k := range slices.Sorted(maps.Keys(g.Metadata)) {
		t, err := c.Compile(g.Metadata[k])
		if err != nil {
			return nil, fieldErr("grpc.metadata."+k, err)
		}
		s.meta = append(s.meta, metaPair{strings.ToLower(k), t})
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
	return s, nil
}

// protoPaths makes absolute proto files relative to the import path that
// holds them, or adds their directory to the import paths.
func protoPaths(files, importPaths []string) ([]string, []string) {
	out := make([]string, len(files))
	paths := slices.Clone(importPaths)
	for i, f := range files {
		out[i] = f
		if !filepath.IsAbs(f) {
			continue
		}
		found := false
		for _, ip := range paths {
			if rel, err := filepath.Rel(ip, f); err == nil && !strings.HasPrefix(rel, "..") {
				out[i], found = filepath.ToSlash(rel), true
				break
			}
		}
		if !found {
			paths = append(paths, filepath.Dir(f))
			out[i] = filepath.Base(f)
		}
	}
	return out, paths
}

// serverOf reads grpc.url, or target.base_url's host when it is empty.
func serverOf(raw, base string) (server, error) {
	if raw == "" {
		u, err := url.Parse(base)
		if err != nil || u.Host == "" {
			return server{}, errors.New("required (grpc://host:port), or set target.base_url")
		}
		return server{addr: u.Host, tls: u.Scheme == "https"}, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "grpc" && u.Scheme != "grpcs") || u.Host == "" || u.Port() == "" {
		return server{}, fmt.Errorf("must be grpc://host:port or grpcs://host:port (TLS), got %q", raw)
	}
	return server{addr: u.Host, tls: u.Scheme == "grpcs"}, nil
}

// checkMessage checks a request against its type: fully when it has no
// templates, by field names when it has (the values are known only when
// a VU expands them).
func checkMessage(text string, md protoreflect.MessageDescriptor) error {
	if !strings.Contains(text, "{{") {
		if err := protojson.Unmarshal([]byte(text), dynamicpb.NewMessage(md)); err != nil {
			return fmt.Errorf("does not fit %s: %v", md.FullName(), err)
		}
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil // templates outside strings: checked when sent
	}
	return checkFields(v, md, string(md.FullName()))
}

// wellKnown messages have JSON forms of their own.
func wellKnown(md protoreflect.MessageDescriptor) bool {
	return strings.HasPrefix(string(md.FullName()), "google.protobuf.")
}

func checkFields(v any, md protoreflect.MessageDescriptor, at string) error {
	obj, ok := v.(map[string]any)
	if !ok || wellKnown(md) {
		return nil
	}
	fields := md.Fields()
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		fd := fields.ByJSONName(k)
		if fd == nil {
			fd = fields.ByTextName(k)
		}
		if fd == nil {
			var names []string
			for i := range fields.Len() {
				names = append(names, string(fields.Get(i).Name()))
			}
			return fmt.Errorf("%s has no field %q (it has %s)", at, k, strings.Join(names, ", "))
		}
		if fd.Message() == nil || fd.IsMap() {
			continue
		}
		if fd.IsList() {
			list, _ := obj[k].([]any)
			for _, e := range list {
				if err := checkFields(e, fd.Message(), at+"."+k); err != nil {
					return err
				}
			}
			continue
		}
		if err := checkFields(obj[k], fd.Message(), at+"."+k); err != nil {
			return err
		}
	}
	return nil
}

// Vars lists the variables the step's templates read.
func (s *Step) Vars() []string {
	out := s.msg.Vars()
	for _, m := range s.meta {
		out = append(out, m.value.Vars()...)
	}
	return out
}

// Sets lists the variables the step extracts.
func (s *Step) Sets() []string { return s.extract.Names() }

var jsonOut = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// Do makes the call once.
func (s *Step) Do(ctx context.Context, vu *load.VU, smp *metrics.Sample) (send, end time.Time) {
	cl := vu.Slots[s.cfg.Slot].(*Client)
	state, _ := vu.State.(*tmpl.State)
	send = time.Now()
	fail := func(kind metrics.ErrKind, code int, format string, args ...any) (time.Time, time.Time) {
		smp.Kind, smp.Status = kind, uint16(code)
		if vu.WantExample(kind) {
			vu.Example(kind, fmt.Sprintf("step %q: ", s.name)+fmt.Sprintf(format, args...))
		}
		return send, time.Now()
	}
	md := s.md.Load()
	if md == nil {
		d, err := s.reflect.method(ctx, s.method)
		if err != nil {
			k, code := Classify(err)
			return fail(k, code, "cannot find %s: %v", s.method, err)
		}
		md = &methodDesc{d}
		s.md.Store(md)
	}
	conn, fresh, err := cl.conn(s.server, s.cfg)
	if err != nil {
		return fail(metrics.KindOther, 0, "%v", err)
	}
	if fresh {
		smp.ConnUS = metrics.Micros(connect(ctx, conn, s.timeout))
	}
	cl.buf = s.msg.Append(cl.buf[:0], state)
	if end, ok := vu.FailMissing(s.name, smp); ok {
		return send, end
	}
	req := cl.message(md.Input())
	if err := protojson.Unmarshal(cl.buf, req); err != nil {
		return fail(metrics.KindBadMessage, 0, "the message does not fit %s: %v", md.Input().FullName(), err)
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if len(s.meta) > 0 {
		kv := make([]string, 0, 2*len(s.meta))
		for _, m := range s.meta {
			kv = append(kv, m.key, m.value.String(state))
		}
		cctx = metadata.AppendToOutgoingContext(cctx, kv...)
	}
	smp.BytesOut = uint32(proto.Size(req))
	smp.MsgsOut = 1
	resp := cl.reply(md.Output())
	// The step's latency runs from its start (a new connection's set-up
	// included, as for HTTP); TTFB from the call's.
	call := time.Now()
	if !md.IsStreamingServer() {
		err = conn.Invoke(cctx, s.full, req, resp)
		end = time.Now()
		if err == nil {
			smp.MsgsIn = 1
			smp.TTFBUS = metrics.Micros(end.Sub(call))
			smp.BytesIn = uint32(proto.Size(resp))
		}
	} else {
		end, err = s.stream(cctx, conn, req, resp, call, smp)
	}
	if ctx.Err() != nil {
		return send, end // a hard stop: not a measurement
	}
	if err != nil {
		k, code := Classify(err)
		smp.Kind, smp.Status = k, uint16(code)
		if vu.WantExample(k) {
			vu.Example(k, fmt.Sprintf("step %q: %s: %v", s.name, s.method, err))
		}
		return send, end
	}
	if s.check == nil && len(s.extract) == 0 {
		return send, end
	}
	js, err := jsonOut.Marshal(resp)
	if err != nil {
		return fail(metrics.KindBadMessage, 0, "cannot read the reply as JSON: %v", err)
	}
	if s.check != nil {
		if ok, reason := s.check.Check(200, js); !ok {
			smp.Kind = metrics.KindCheckFailed
			if vu.WantExample(smp.Kind) {
				vu.Example(smp.Kind, fmt.Sprintf("step %q: %s", s.name, reason))
			}
			return send, end
		}
	}
	if name, ok := s.extract.Apply(js, state); !ok {
		smp.Kind = metrics.KindExtractFailed
		if vu.WantExample(smp.Kind) {
			vu.Example(smp.Kind, fmt.Sprintf("step %q: extract %s: nothing matched in the reply", s.name, name))
		}
	}
	return send, end
}

// stream makes a server-streaming call, keeping the last message in
// resp.
func (s *Step) stream(ctx context.Context, conn *grpc.ClientConn, req, resp proto.Message, send time.Time, smp *metrics.Sample) (time.Time, error) {
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, s.full)
	if err != nil {
		return time.Now(), err
	}
	if err := st.SendMsg(req); err != nil {
		return time.Now(), err
	}
	if err := st.CloseSend(); err != nil {
		return time.Now(), err
	}
	for {
		err := st.RecvMsg(resp) // replaces resp; at the end it keeps the last message
		now := time.Now()
		if errors.Is(err, io.EOF) {
			return now, nil
		}
		if err != nil {
			return now, err
		}
		if smp.MsgsIn == 0 {
			smp.TTFBUS = metrics.Micros(now.Sub(send))
		}
		smp.MsgsIn++
		smp.BytesIn += uint32(proto.Size(resp))
	}
}

func fieldErr(field string, err error) error { return &httpstep.FieldError{Field: field, Err: err} }

// dial makes a client connection to sv; it connects on first use.
func dial(sv server, cfg Config) (*grpc.ClientConn, error) {
	creds := insecure.NewCredentials()
	if sv.tls {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.TLS != nil {
			tc = cfg.TLS.Clone()
		}
		creds = credentials.NewTLS(tc)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if cfg.MaxMessage > 0 {
		opts = append(opts, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(cfg.MaxMessage)))
	}
	return grpc.NewClient("passthrough:///"+sv.addr, opts...)
}

// Client is one VU's gRPC state: a connection per server, made on first
// use, and its request and reply messages, reused. Only the VU uses it,
// except Interrupt and Close.
type Client struct {
	buf  []byte
	reqs map[protoreflect.FullName]*dynamicpb.Message
	outs map[protoreflect.FullName]*dynamicpb.Message

	mu    sync.Mutex // guards conns
	conns map[string]*grpc.ClientConn
}

// NewClient returns a VU's gRPC state; it connects nothing.
func NewClient() *Client {
	return &Client{reqs: map[protoreflect.FullName]*dynamicpb.Message{}, outs: map[protoreflect.FullName]*dynamicpb.Message{},
		conns: map[string]*grpc.ClientConn{}}
}

// conn returns the VU's connection to sv; fresh when it was just made.
func (cl *Client) conn(sv server, cfg Config) (c *grpc.ClientConn, fresh bool, err error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if c := cl.conns[sv.key()]; c != nil {
		return c, false, nil
	}
	c, err = dial(sv, cfg)
	if err != nil {
		return nil, false, err
	}
	cl.conns[sv.key()] = c
	return c, true, nil
}

// connect makes a new connection ready (TCP, TLS, HTTP/2 settings) and
// returns how long that took, so a VU's first call has its connect phase
// apart; a connection that fails is left to the call to report.
func connect(ctx context.Context, c *grpc.ClientConn, timeout time.Duration) time.Duration {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c.Connect()
	for st := c.GetState(); st != connectivity.Ready; st = c.GetState() {
		if st == connectivity.TransientFailure || st == connectivity.Shutdown || !c.WaitForStateChange(ctx, st) {
			break
		}
	}
	return time.Since(start)
}

// message returns the VU's request message of type md, cleared.
func (cl *Client) message(md protoreflect.MessageDescriptor) *dynamicpb.Message {
	return reuse(cl.reqs, md)
}

// reply returns the VU's reply message of type md, cleared.
func (cl *Client) reply(md protoreflect.MessageDescriptor) *dynamicpb.Message {
	return reuse(cl.outs, md)
}

func reuse(m map[protoreflect.FullName]*dynamicpb.Message, md protoreflect.MessageDescriptor) *dynamicpb.Message {
	msg := m[md.FullName()]
	if msg == nil || msg.Descriptor() != md {
		msg = dynamicpb.NewMessage(md)
		m[md.FullName()] = msg
		return msg
	}
	proto.Reset(msg)
	return msg
}

// Interrupt closes the connections at once, for a hard stop; safe from
// any goroutine.
func (cl *Client) Interrupt() { cl.Close() }

// Close closes the VU's connections.
func (cl *Client) Close() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for k, c := range cl.conns {
		c.Close()
		delete(cl.conns, k)
	}
	return nil
}
