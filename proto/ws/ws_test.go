package ws_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/stampede-perf/stampede/demo"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/proto/prototest"
)

func startShop(t *testing.T) string {
	t.Helper()
	srv, err := demo.Start(t.Context(), "127.0.0.1:0", demo.Options{Users: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return srv.URL()
}

// The demo shop's stock feed: connect with a subprotocol, subscribe and
// wait for the matching update, extract from it, hold while pinging,
// close.
func TestDemoStockFeed(t *testing.T) {
	base := startShop(t)
	samples, state := prototest.RunOnce(t, `target: {base_url: `+base+`}
load: {vus: 1, duration: 1s}
scenarios:
  - name: live
    steps:
      - ws: {connect: /ws/stock, subprotocols: [stock.v1]}
      - name: subscribe
        ws:
          json: {subscribe: 3}
          expect: {json: [{path: type, equals: stock}, {path: product_id, equals: 3}]}
        extract: {level: {json: stock}}
      - name: ping
        ws: {send: '{"ping": "{{ level }}"}', expect: {regex: '"type":"pong"'}}
      - name: watch
        ws: {hold: 600ms, rate: 10, send: '{"ping": 1}'}
      - ws: {close: true}
`)
	if len(samples) != 5 {
		t.Fatalf("ran %d steps, want 5: %+v", len(samples), samples)
	}
	for i, s := range samples {
		if s.Kind != metrics.KindNone {
			t.Fatalf("step %d failed: %v (status %d)", i, s.Kind, s.Status)
		}
	}
	if samples[0].Status != 101 || samples[0].ConnUS == 0 {
		t.Errorf("connect: status %d, connect time %d µs; want 101 and a time", samples[0].Status, samples[0].ConnUS)
	}
	sub := samples[1]
	if sub.MsgsOut != 1 || sub.MsgsIn < 1 || sub.TTFBUS == 0 || sub.BytesOut == 0 {
		t.Errorf("subscribe: out %d in %d rtt %d µs bytes out %d", sub.MsgsOut, sub.MsgsIn, sub.TTFBUS, sub.BytesOut)
	}
	if v, ok := state.Get("level"); !ok || v == "" {
		t.Errorf("extracted level = %q, %v", v, ok)
	}
	// 600 ms at 10/s: about 6 pings sent, their pongs and 3 stock
	// updates received; generous bounds, the machine may be slow.
	hold := samples[3]
	if hold.MsgsOut < 3 || hold.MsgsOut > 7 {
		t.Errorf("hold sent %d messages, want about 6", hold.MsgsOut)
	}
	if hold.MsgsIn < 2 {
		t.Errorf("hold received %d messages, want pongs and updates", hold.MsgsIn)
	}
}

// serve starts a WebSocket server whose handler does what talk says,
// over TLS when tls is set.
func serve(t *testing.T, tls bool, talk func(ctx context.Context, c *websocket.Conn)) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws" {
			http.NotFound(w, r)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		talk(r.Context(), c)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv
}

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws" }

// A server that ends the conversation half-way: the step that was using
// the connection fails as ws_closed, with the close code as its status.
func TestServerClosesMidConversation(t *testing.T) {
	cases := []struct {
		name   string
		end    func(c *websocket.Conn)
		status uint16
		why    string
	}{
		{"close frame", func(c *websocket.Conn) { c.Close(websocket.StatusTryAgainLater, "busy") }, 1013,
			"a close frame's code says why the server ended it"},
		{"dropped", func(c *websocket.Conn) { c.CloseNow() }, 1006,
			"a connection dropped without a close frame is 1006, abnormal closure"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, false, func(ctx context.Context, c *websocket.Conn) {
				if _, m, err := c.Read(ctx); err == nil {
					c.Write(ctx, websocket.MessageText, m) // echo the first message
				}
				c.Read(ctx) // the second message ends it
				tc.end(c)
			})
			samples, _ := prototest.RunOnce(t, `target: {base_url: http://127.0.0.1:1}
load: {vus: 1, duration: 1s}
scenarios:
  - name: s
    steps:
      - ws: {connect: `+wsURL(srv)+`}
      - {name: one, ws: {send: hello, expect: {regex: hello}}}
      - {name: two, ws: {send: again, expect: {regex: again}}}
      - {name: three, ws: {send: never}}
`)
			if len(samples) != 3 {
				t.Fatalf("ran %d steps, want 3 (the third fails)", len(samples))
			}
			if samples[1].Kind != metrics.KindNone {
				t.Fatalf("the echo failed: %v", samples[1].Kind)
			}
			if s := samples[2]; s.Kind != metrics.KindWSClosed || s.Status != tc.status {
				t.Errorf("%s: kind %v status %d, want ws_closed %d", tc.why, s.Kind, s.Status, tc.status)
			}
		})
	}
}

// Failures before or without a conversation, each its own kind.
func TestConnectAndWaitFailures(t *testing.T) {
	silent := serve(t, false, func(ctx context.Context, c *websocket.Conn) {
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return
			}
		}
	})
	secure := serve(t, true, func(ctx context.Context, c *websocket.Conn) {
		_, m, err := c.Read(ctx)
		if err == nil {
			c.Write(ctx, websocket.MessageText, m)
		}
		c.Read(ctx)
	})
	wss := "wss" + strings.TrimPrefix(secure.URL, "https") + "/ws"
	cases := []struct {
		name   string
		target string
		steps  string
		kind   metrics.ErrKind
		status uint16
		why    string
	}{
		{"no match in time", "", `      - ws: {connect: ` + wsURL(silent) + `}
      - {name: wait, ws: {send: hi, expect: {regex: never}}, timeout: 200ms}
`, metrics.KindTimeout, 0, "a message that never comes is a timeout after the step's timeout"},
		{"refused handshake", "", `      - ws: {connect: ` + strings.TrimSuffix(wsURL(silent), "/ws") + `/nope}
`, metrics.KindHTTP4xx, 404, "a handshake answered 404 is http_4xx with its status"},
		{"nothing listening", "", `      - ws: {connect: "ws://127.0.0.1:1/ws"}
`, metrics.KindConnRefused, 0, "no server is connection_refused"},
		{"untrusted certificate", "", `      - ws: {connect: ` + wss + `}
`, metrics.KindTLS, 0, "a certificate the client does not trust is tls"},
		{"trusted by insecure_skip_verify", "insecure_skip_verify: true, ", `      - ws: {connect: ` + wss + `}
      - {name: echo, ws: {send: hi, expect: {regex: hi}}}
`, metrics.KindNone, 0, "wss works when the certificate is accepted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			samples, _ := prototest.RunOnce(t, `target: {`+tc.target+`base_url: http://127.0.0.1:1}
load: {vus: 1, duration: 1s}
scenarios:
  - name: s
    steps:
`+tc.steps)
			s := samples[len(samples)-1]
			if s.Kind != tc.kind || (tc.status != 0 && s.Status != tc.status) {
				t.Errorf("%s: kind %v status %d, want %v %d", tc.why, s.Kind, s.Status, tc.kind, tc.status)
			}
		})
	}
}

// examples/websocket.yaml runs against the demo shop without an error.
func TestExamplePlan(t *testing.T) {
	base := startShop(t)
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "websocket.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(src), "http://127.0.0.1:8080", base)
	doc = strings.ReplaceAll(doc, "hold: 3s", "hold: 300ms")
	samples, _ := prototest.RunOnce(t, doc)
	if len(samples) != 5 {
		t.Fatalf("%d steps ran, want 5", len(samples))
	}
	for i, s := range samples {
		if s.Kind != metrics.KindNone {
			t.Fatalf("step %d: %v (status %d)", i, s.Kind, s.Status)
		}
	}
}
