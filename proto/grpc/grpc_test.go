package grpc_test

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/stampede-perf/stampede/demo"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/proto/prototest"
)

// startShop serves the demo shop with its gRPC catalogue (and reflection).
func startShop(t testing.TB) *demo.Server {
	t.Helper()
	srv, err := demo.Start(context.Background(), "127.0.0.1:0", demo.Options{Users: 10, GRPCAddr: "127.0.0.1:0"})
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
	return srv
}

const head = "load: {vus: 1, duration: 1s}\nscenarios:\n  - name: s\n    steps:\n"

// Unary and server-streaming calls to the demo catalogue, with types
// from server reflection and from the .proto file.
func TestCatalogueCalls(t *testing.T) {
	srv := startShop(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "catalogue.proto"), []byte(demo.CatalogueProto), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, types := range []string{"", ", proto: [" + filepath.Join(dir, "catalogue.proto") + "], import_paths: [" + dir + "]"} {
		name := "reflection"
		if types != "" {
			name = "proto file"
		}
		t.Run(name, func(t *testing.T) {
			url := "grpc://" + srv.GRPCAddr()
			samples, state := prototest.RunOnce(t, "target: {base_url: "+srv.URL()+"}\n"+head+`      - name: get
        grpc: {url: "`+url+`", method: shop.v1.Catalogue/GetProduct, message: {id: 7}, metadata: {x-user: "{{ vu }}"}`+types+`}
        check: {json: [{path: id, equals: "7"}]}
        extract: {name: {json: name}}
      - name: list
        grpc: {url: "`+url+`", method: shop.v1.Catalogue/ListProducts, message: {limit: 12}`+types+`}
        check: {json: [{path: id, equals: "12"}]}
`)
			for i, s := range samples {
				if s.Kind != metrics.KindNone {
					t.Fatalf("step %d: %v (status %d)", i, s.Kind, s.Status)
				}
			}
			if len(samples) != 2 {
				t.Fatalf("%d steps ran", len(samples))
			}
			if v, _ := state.Get("name"); v == "" {
				t.Error("nothing extracted from the reply")
			}
			get, list := samples[0], samples[1]
			if get.MsgsIn != 1 || get.MsgsOut != 1 || get.BytesIn == 0 || get.BytesOut == 0 {
				t.Errorf("unary: %+v", get)
			}
			if get.ConnUS == 0 || list.ConnUS != 0 {
				t.Errorf("connect phase: first call %d µs, second %d µs; want a time, then none (one connection per VU)", get.ConnUS, list.ConnUS)
			}
			if list.MsgsIn != 12 || list.TTFBUS == 0 {
				t.Errorf("stream: %d messages, first after %d µs; want 12 and a time", list.MsgsIn, list.TTFBUS)
			}
		})
	}
}

// What a server answers is a kind of its own, the code the status.
func TestStatusKinds(t *testing.T) {
	srv := startShop(t)
	// A server with reflection and the health service, whose Watch
	// never ends: a deadline.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := grpc.NewServer()
	healthpb.RegisterHealthServer(hs, health.NewServer())
	reflection.Register(hs)
	go hs.Serve(ln)
	t.Cleanup(hs.Stop)
	shop := "grpc://" + srv.GRPCAddr()
	cases := []struct {
		name, step string
		kind       metrics.ErrKind
		code       uint16
		why        string
	}{
		{"not found", `{url: "` + shop + `", method: shop.v1.Catalogue/GetProduct, message: {id: 99999}}`, metrics.KindGRPCNotFound, 5, "NOT_FOUND is grpc_not_found"},
		{"invalid argument", `{url: "` + shop + `", method: shop.v1.Catalogue/GetProduct, message: {id: 0}}`, metrics.KindGRPCInvalidArgument, 3, "INVALID_ARGUMENT"},
		{"unknown method by reflection", `{url: "` + shop + `", method: shop.v1.Catalogue/Nope}`, metrics.KindGRPCUnimplemented, 12, "a method reflection does not list is grpc_unimplemented"},
		{"unknown service by reflection", `{url: "` + shop + `", method: shop.v9.Nothing/Get}`, metrics.KindGRPCUnimplemented, 12, "so is a service it does not know"},
		{"deadline", `{url: "grpc://` + ln.Addr().String() + `", method: grpc.health.v1.Health/Watch}, timeout: 200ms`, metrics.KindTimeout, 4, "a stream past the step's timeout is a timeout"},
		{"bad value", `{url: "` + shop + `", method: shop.v1.Catalogue/GetProduct, message: {id: "{{ word }}"}}`, metrics.KindBadMessage, 0, "a templated value that does not fit the field is bad_message"},
		{"nothing listening", `{url: "grpc://127.0.0.1:1", method: a.B/C}`, metrics.KindConnRefused, 14, "no server: the reflection lookup is refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			samples, _ := prototest.RunOnce(t, "variables: {word: abc}\n"+head+"      - {name: call, grpc: "+strings.Replace(tc.step, "}, timeout", "}, timeout", 1)+"}\n")
			s := samples[len(samples)-1]
			if s.Kind != tc.kind || s.Status != tc.code {
				t.Errorf("%s: kind %v status %d, want %v %d", tc.why, s.Kind, s.Status, tc.kind, tc.code)
			}
		})
	}
}

// Problems found when the plan is compiled: one line each, with the
// plan's position and field.
func TestPlanProblems(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "catalogue.proto"), []byte(demo.CatalogueProto), 0o600)
	os.WriteFile(filepath.Join(dir, "broken.proto"), []byte("syntax = \"proto3\";\nmessage A {\n  int64 id = ;\n}\n"), 0o600)
	_, err := prototest.Compile(t, dir, head+`      - {name: a, grpc: {url: "grpc://127.0.0.1:1", method: x.Y/Z, proto: [broken.proto]}}
      - {name: b, grpc: {url: "grpc://127.0.0.1:1", method: shop.v1.Catalogue/Nope, proto: [catalogue.proto]}}
      - {name: c, grpc: {url: "grpc://127.0.0.1:1", method: shop.v1.Catalogue/GetProduct, proto: [catalogue.proto], message: {idd: 1}}}
      - {name: d, grpc: {url: "grpc://127.0.0.1:1", method: shop.v1.Catalogue/GetProduct, proto: [catalogue.proto], message: {id: "{{ vu }}", x: "{{ vu }}"}}}
      - {name: e, grpc: {url: "grpc://127.0.0.1:1", method: shop.v1.Catalogue/GetProduct, proto: [catalogue.proto], message: {id: [1]}}}
`)
	if err == nil {
		t.Fatal("compiled")
	}
	file := filepath.Join(dir, "plan.yaml")
	want := []string{
		file + ":5:75: scenarios[0].steps[0].grpc.proto: broken.proto:3:14: syntax error: unexpected ';'",
		file + ":6:61: scenarios[0].steps[1].grpc.method: service shop.v1.Catalogue has no method Nope (it has GetProduct, ListProducts)",
		file + ":7:126: scenarios[0].steps[2].grpc.message: does not fit shop.v1.GetProductRequest: proto:",
		file + `:8:126: scenarios[0].steps[3].grpc.message: shop.v1.GetProductRequest has no field "x" (it has id)`,
		file + ":9:126: scenarios[0].steps[4].grpc.message: does not fit shop.v1.GetProductRequest: proto:",
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d:\n got %s\nwant %s…", i, lines[i], w)
		}
	}
}

// grpcs:// with the server's authority trusted through target.tls, and
// refused without it.
func TestTLS(t *testing.T) {
	ts := httptest.NewTLSServer(nil) // for its certificate
	ts.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	shop, err := demo.New(context.Background(), demo.Options{Products: 5, Users: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shop.Close() })
	gs, err := shop.NewGRPCServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: ts.TLS.Certificates})))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	step := `      - {name: get, grpc: {url: "grpcs://` + ln.Addr().String() + `", method: shop.v1.Catalogue/GetProduct, message: {id: 1}}}` + "\n"
	samples, _ := prototest.RunOnce(t, "target: {tls: {ca_file: "+ca+", server_name: example.com}}\n"+head+step)
	if s := samples[0]; s.Kind != metrics.KindNone {
		t.Errorf("trusted: kind %v status %d", s.Kind, s.Status)
	}
	samples, _ = prototest.RunOnce(t, head+step)
	if s := samples[0]; s.Kind != metrics.KindTLS {
		t.Errorf("untrusted: kind %v status %d, want tls", s.Kind, s.Status)
	}
}

// examples/grpc.yaml runs against the demo shop without an error.
func TestExamplePlan(t *testing.T) {
	srv := startShop(t)
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "grpc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.ReplaceAll(string(src), "grpc://127.0.0.1:9090", "grpc://"+srv.GRPCAddr())
	for i := range 2 { // both scenarios
		first := strings.Index(doc, "  - name: Product page")
		second := strings.Index(doc, "  - name: Browse")
		d := doc[:first] + doc[second:]
		if i == 1 {
			d = doc
		}
		samples, _ := prototest.RunOnce(t, d)
		for _, s := range samples {
			if s.Kind != metrics.KindNone {
				t.Fatalf("scenario %d: %v (status %d)", i, s.Kind, s.Status)
			}
		}
	}
}
