package cli

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The demo starts the shop in its own process, loads it with the example
// plan and watches it: the run has no errors and a system section with the
// shop's process, its heap and its profiles.
func TestDemoEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "demo.json")
	res := runCLI(t, context.Background(), "demo", "--duration", "4s", "--vus", "10", "--fault", "hotspot", "--no-store", "-q", "--out", "json="+out)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	r, _ := readRun(t, out)
	if r.Summary.Requests < 20 || r.Summary.Errors != 0 {
		t.Fatalf("requests %d errors %d: %+v", r.Summary.Requests, r.Summary.Errors, r.Errors)
	}
	if len(r.Scenarios) != 4 {
		t.Fatalf("%d scenarios, want the four of the example plan", len(r.Scenarios))
	}
	if r.System == nil || r.System.Process == nil || r.System.Process.PID == 0 || len(r.System.Timeline) < 2 {
		t.Fatalf("no system section: %+v", r.System)
	}
	kinds := map[string]bool{}
	for _, p := range r.System.Profiles {
		kinds[p.Kind] = true
	}
	if !kinds["heap_end"] && !kinds["heap-end"] {
		t.Errorf("profiles %v lack the end heap profile", r.System.Profiles)
	}
	if !strings.Contains(res.stdout, "Browse Products") {
		t.Errorf("summary lacks the steps:\n%s", res.stdout)
	}
}

func TestDemoRejectsUnknownFault(t *testing.T) {
	res := runCLI(t, context.Background(), "demo", "--fault", "slow")
	if res.code != 2 || !strings.Contains(res.stderr, "slow") {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
}

func TestListenScope(t *testing.T) {
	for _, tc := range []struct {
		addr  *net.TCPAddr
		scope string
		local bool
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "loopback only", true},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, "loopback only", true},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "all interfaces", false},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "all interfaces", false},
		{&net.TCPAddr{Port: 8080}, "all interfaces", false}, // ":8080"
		{&net.TCPAddr{IP: net.IPv4(192, 168, 1, 5), Port: 8080}, "the interface 192.168.1.5", false},
	} {
		scope, local := listenScope(tc.addr)
		if scope != tc.scope || local != tc.local {
			t.Errorf("listenScope(%v) = %q, %v; want %q, %v", tc.addr, scope, local, tc.scope, tc.local)
		}
	}
}

// demo serve says what it binds: loopback here, with no warning.
func TestDemoServeSaysWhatItBinds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	res := runCLI(t, ctx, "demo", "serve", "--addr", "127.0.0.1:0")
	if !strings.Contains(res.stdout, "demo shop listening on http://127.0.0.1:") || !strings.Contains(res.stdout, "loopback only") {
		t.Errorf("stdout %q", res.stdout)
	}
	if strings.Contains(res.stderr, "warning") {
		t.Errorf("a loopback shop got a warning: %s", res.stderr)
	}
}

// TestDemoExamples runs the WebSocket and gRPC example plans against the
// demo shop, as `stampede demo --example NAME` does: the gRPC steps reach
// the shop's catalogue on the port it picked, the WebSocket steps its
// live stock, with every step's messages counted and no error but a
// few timeouts (at most one call in twenty).
func TestDemoExamples(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		example, kind string
	}{{"grpc", "grpc"}, {"websocket", "ws"}} {
		t.Run(tt.example, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run.json")
			res := runCLI(t, context.Background(), "demo", "--example", tt.example, "--duration", "2s", "--no-store", "-q", "--out", "json="+out)
			// A threshold may fail on a busy machine (exit 1); what is
			// checked is that the steps ran against the shop.
			if res.code != ExitOK && res.code != ExitFailed {
				t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
			}
			r, _ := readRun(t, out)
			// A busy machine may time a few calls out; any other error
			// is one.
			timeouts := int64(0)
			for _, e := range r.Errors {
				if e.Kind == "timeout" {
					timeouts += e.Count
				}
			}
			if r.Summary.Requests < 10 || r.Summary.Errors != timeouts || timeouts*20 > r.Summary.Requests {
				t.Fatalf("requests %d errors %d (%d timeouts): %+v", r.Summary.Requests, r.Summary.Errors, timeouts, r.Errors)
			}
			var in int64
			for _, s := range r.Steps {
				in += s.MessagesIn
				if s.Kind != tt.kind || s.Requests == 0 {
					t.Errorf("step %s/%s: kind %q, %d requests", s.Scenario, s.Step, s.Kind, s.Requests)
				}
			}
			if in == 0 {
				t.Errorf("no message received: %+v", r.Steps)
			}
		})
	}
	res := runCLI(t, context.Background(), "demo", "--example", "nope", "--no-store")
	if res.code != ExitInvalid || !strings.Contains(res.stderr, "no such example plan (have grpc, ") || !strings.Contains(res.stderr, "websocket)") {
		t.Errorf("an unknown example: exit %d\n%s", res.code, res.stderr)
	}
}
