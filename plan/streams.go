package plan

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// WebSocket and gRPC steps. They are plain data here; proto/ws and
// proto/grpc compile them. A step runs exactly one protocol: path (HTTP),
// sql, ws or grpc.

// Bounds of the WebSocket and gRPC steps.
const (
	// MaxWSRate bounds ws.rate, messages per second sent during a hold.
	MaxWSRate = 10_000
	// MaxHold bounds ws.hold.
	MaxHold = Duration(24 * time.Hour)
	// MaxSubprotocols bounds ws.subprotocols.
	MaxSubprotocols = 32
	// MaxProtoFiles bounds grpc.proto and grpc.import_paths.
	MaxProtoFiles = 100
)

// WSStep is one action on the VU's WebSocket connection. The parts that
// are set run in this order: connect, send, expect, hold, close. The
// connection lasts at most one iteration: it is closed after the last
// ws step of the scenario if no step closes it.
type WSStep struct {
	// Connect opens the connection: a ws:// or wss:// URL, or a path
	// joined to target.base_url (http becomes ws, https wss). The step's
	// headers are sent with the handshake.
	Connect      string   `yaml:"connect" json:"connect,omitempty"`
	Subprotocols []string `yaml:"subprotocols" json:"subprotocols,omitempty"`
	// Send is a text message, templated; JSON is a JSON message,
	// templated after encoding. Binary sends either as a binary message.
	Send   string `yaml:"send" json:"send,omitempty"`
	JSON   any    `yaml:"json" json:"json,omitempty"`
	Binary bool   `yaml:"binary" json:"binary,omitempty"`
	// Expect waits (up to the step's timeout) for a message that matches;
	// the others are counted and skipped. Extractors and checks read the
	// matching message.
	Expect *WSExpect `yaml:"expect" json:"expect,omitempty"`
	// Hold keeps the connection open this long, reading what arrives and,
	// with Rate, sending the step's message Rate times a second.
	Hold  Duration `yaml:"hold" json:"hold,omitempty"`
	Rate  float64  `yaml:"rate" json:"rate,omitempty"`
	Close bool     `yaml:"close" json:"close,omitempty"`
}

// WSExpect is what a WebSocket message must match: every JSON check (a
// gjson path) and the regex, when set.
type WSExpect struct {
	JSON  []*JSONCheck `yaml:"json" json:"json,omitempty"`
	Regex string       `yaml:"regex" json:"regex,omitempty"`
}

// GRPCStep is one gRPC call: unary or server streaming, as the method's
// descriptor says.
type GRPCStep struct {
	// URL is grpc://host:port (cleartext HTTP/2) or grpcs://host:port
	// (TLS, with target.tls); empty takes target.base_url's host and port.
	URL string `yaml:"url" json:"url,omitempty"`
	// Method is package.Service/Method.
	Method string `yaml:"method" json:"method"`
	// Message is the request as JSON (protojson names), templated after
	// encoding; empty sends the empty message.
	Message  any               `yaml:"message" json:"message,omitempty"`
	Metadata map[string]string `yaml:"metadata" json:"metadata,omitempty"` // templated
	// Proto lists .proto files compiled when the plan is loaded (no protoc
	// needed), found in ImportPaths and the plan's directory. Without
	// them, types come from the server's reflection service.
	Proto       []string `yaml:"proto" json:"proto,omitempty"`
	ImportPaths []string `yaml:"import_paths" json:"import_paths,omitempty"`
}

// streamKind names the protocol a step runs, "" when it sets none.
func (st *Step) streamKind() string {
	switch {
	case st.WS != nil:
		return "ws"
	case st.GRPC != nil:
		return "grpc"
	}
	return ""
}

// streamStep checks a ws or grpc step; kind is its streamKind.
func (c *checker) streamStep(sp string, st *Step, kind string) {
	if st.Path != "" || st.SQL != nil || (st.WS != nil && st.GRPC != nil) {
		c.add(sp, "set one of path (HTTP request), sql (database query), ws (WebSocket) or grpc (gRPC call), not several")
		return
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"method", st.Method != ""}, {"query", len(st.Query) > 0}, {"body", st.Body != ""}, {"json", st.JSON != nil},
		{"form", len(st.Form) > 0}, {"multipart", st.Multipart != nil}, {"body_file", st.BodyFile != ""},
		{"auth", st.Auth != nil}, {"redirects", st.Redirects != nil},
		{"headers", kind == "grpc" && len(st.Headers) > 0},
	} {
		if f.set {
			c.add(fieldPath(sp, f.name), "applies to HTTP steps only (this step runs %s)", kind)
		}
	}
	for _, name := range sortedKeys(st.Extract) {
		ep := keyPath(fieldPath(sp, "extract"), name)
		c.extractor(ep, st.Extract[name], false)
		if ex := st.Extract[name]; ex != nil && ex.Header != "" {
			c.add(fieldPath(ep, "header"), "applies to HTTP steps only (this step runs %s)", kind)
		}
	}
	if ch := st.Check; ch != nil {
		c.check(fieldPath(sp, "check"), ch, false)
		if len(ch.Status) > 0 {
			c.add(fieldPath(fieldPath(sp, "check"), "status"), "applies to HTTP steps only (this step runs %s)", kind)
		}
	}
	if kind == "ws" {
		c.wsStep(fieldPath(sp, "ws"), st.WS)
	} else {
		c.grpcStep(fieldPath(sp, "grpc"), st.GRPC)
	}
}

func (c *checker) wsStep(path string, w *WSStep) {
	hasMsg := w.Send != "" || w.JSON != nil
	if w.Connect == "" && !hasMsg && w.Expect == nil && w.Hold == 0 && !w.Close && !w.Binary {
		c.add(path, "empty ws step: set connect, send (or json), expect, hold or close")
	}
	if w.Connect != "" && !strings.Contains(w.Connect, "{{") && !strings.Contains(w.Connect, "${") {
		if strings.Contains(w.Connect, "://") {
			u, err := url.Parse(w.Connect)
			if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
				c.add(fieldPath(path, "connect"), "must be a ws:// or wss:// URL or a path joined to target.base_url, got %q", w.Connect)
			}
		} else if c.p.Target.BaseURL == "" {
			c.add(fieldPath(path, "connect"), "%q is a path: set target.base_url, or write a ws:// URL", w.Connect)
		}
	}
	if w.Connect == "" && len(w.Subprotocols) > 0 {
		c.add(fieldPath(path, "subprotocols"), "applies to a step that connects")
	}
	if n := len(w.Subprotocols); n > MaxSubprotocols {
		c.add(fieldPath(path, "subprotocols"), "%d subprotocols; at most %d are allowed", n, MaxSubprotocols)
	}
	if w.Send != "" && w.JSON != nil {
		c.add(fieldPath(path, "json"), "set send or json, not both")
	}
	c.atMost(fieldPath(path, "send"), float64(len(w.Send)), MaxRequestBody, bytesText)
	if w.Binary && !hasMsg {
		c.add(fieldPath(path, "binary"), "applies to a message: set send or json")
	}
	if e := w.Expect; e != nil {
		ep := fieldPath(path, "expect")
		if len(e.JSON) == 0 && e.Regex == "" {
			c.add(ep, "set json (gjson path checks) or regex")
		}
		for i, jc := range e.JSON {
			if jc == nil || jc.Path == "" {
				c.add(fieldPath(indexPath(fieldPath(ep, "json"), i), "path"), "required")
			}
		}
		if e.Regex != "" {
			if _, err := regexp.Compile(e.Regex); err != nil {
				c.add(fieldPath(ep, "regex"), "invalid regex: %v", err)
			}
		}
	}
	c.nonNegativeDuration(fieldPath(path, "hold"), w.Hold)
	c.atMost(fieldPath(path, "hold"), float64(w.Hold), float64(MaxHold), durText)
	c.nonNegative(fieldPath(path, "rate"), w.Rate)
	c.atMost(fieldPath(path, "rate"), w.Rate, MaxWSRate, numText)
	switch {
	case w.Rate > 0 && w.Hold == 0:
		c.add(fieldPath(path, "rate"), "applies to a hold: set hold too")
	case w.Rate > 0 && !hasMsg:
		c.add(fieldPath(path, "rate"), "sends the step's message: set send or json")
	}
}

func (c *checker) grpcStep(path string, g *GRPCStep) {
	if g.URL != "" && !strings.Contains(g.URL, "${") {
		u, err := url.Parse(g.URL)
		if err != nil || (u.Scheme != "grpc" && u.Scheme != "grpcs") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			c.add(fieldPath(path, "url"), "must be grpc://host:port or grpcs://host:port (TLS), got %q", g.URL)
		}
	} else if g.URL == "" && c.p.Target.BaseURL == "" {
		c.add(fieldPath(path, "url"), "required (grpc://host:port), or set target.base_url")
	}
	svc, m, ok := strings.Cut(strings.TrimPrefix(g.Method, "/"), "/")
	switch {
	case g.Method == "":
		c.add(fieldPath(path, "method"), "required: package.Service/Method")
	case !ok || svc == "" || m == "" || strings.Contains(m, "/"):
		c.add(fieldPath(path, "method"), "must be package.Service/Method, got %q", g.Method)
	}
	if n := len(g.Proto); n > MaxProtoFiles {
		c.add(fieldPath(path, "proto"), "%d files; at most %d are allowed", n, MaxProtoFiles)
	}
	if n := len(g.ImportPaths); n > MaxProtoFiles {
		c.add(fieldPath(path, "import_paths"), "%d paths; at most %d are allowed", n, MaxProtoFiles)
	}
	if len(g.ImportPaths) > 0 && len(g.Proto) == 0 {
		c.add(fieldPath(path, "import_paths"), "applies to proto files: set proto too")
	}
	c.headers(fieldPath(path, "metadata"), g.Metadata, 0)
}

// wsScenario checks that a scenario's first ws step connects: the
// connection lasts one iteration.
func (c *checker) wsScenario(sp string, s *Scenario) {
	for j, st := range s.Steps {
		if st == nil || st.WS == nil {
			continue
		}
		if st.WS.Connect == "" {
			c.add(fieldPath(indexPath(fieldPath(sp, "steps"), j), "ws.connect"), "required: the first ws step of a scenario opens the connection (it lasts one iteration)")
		}
		return
	}
}

// resolveProtoFiles makes grpc.import_paths relative to the plan file's
// directory, and absolute; proto files are found in them.
func resolveProtoFiles(p *Plan, file string) {
	if file == "" {
		return
	}
	dir := filepath.Dir(file)
	for _, s := range p.Scenarios {
		if s == nil {
			continue
		}
		for _, st := range s.Steps {
			if st == nil || st.GRPC == nil {
				continue
			}
			g := st.GRPC
			if len(g.Proto) > 0 && len(g.ImportPaths) == 0 {
				g.ImportPaths = []string{"."}
			}
			for i, ip := range g.ImportPaths {
				if !filepath.IsAbs(ip) && !strings.Contains(ip, "${") {
					ip = filepath.Join(dir, ip)
				}
				if a, err := filepath.Abs(ip); err == nil {
					g.ImportPaths[i] = a
				}
			}
		}
	}
}

// streamStepName names an unnamed ws or grpc step: its method, or its
// first action.
func streamStepName(st *Step) string {
	if g := st.GRPC; g != nil {
		return strings.TrimPrefix(g.Method, "/")
	}
	w := st.WS
	switch {
	case w.Connect != "":
		return "WS connect " + shorten(w.Connect)
	case w.Send != "" || w.JSON != nil:
		return "WS send"
	case w.Expect != nil:
		return "WS expect"
	case w.Hold > 0:
		return "WS hold " + w.Hold.D().String()
	case w.Close:
		return "WS close"
	}
	return ""
}
