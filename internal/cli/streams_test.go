package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/demo"
)

// The WebSocket and gRPC example plans run through `stampede run` against
// the demo shop, and the Run counts their messages.
func TestRunStreamExamples(t *testing.T) {
	srv, err := demo.Start(context.Background(), "127.0.0.1:0", demo.Options{Users: 10, GRPCAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	dir := t.TempDir()
	for _, ex := range []struct{ file, from, to string }{
		{"websocket.yaml", "http://127.0.0.1:8080", srv.URL()},
		{"grpc.yaml", "grpc://127.0.0.1:9090", "grpc://" + srv.GRPCAddr()},
	} {
		t.Run(ex.file, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("..", "..", "examples", ex.file))
			if err != nil {
				t.Fatal(err)
			}
			doc := strings.ReplaceAll(string(src), ex.from, ex.to)
			doc = strings.ReplaceAll(doc, "hold: 3s", "hold: 200ms")
			planFile := filepath.Join(dir, ex.file)
			if err := os.WriteFile(planFile, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, ex.file+".json")
			res := runCLI(t, context.Background(), "run", planFile, "--rate", "10", "--duration", "1s", "--no-store", "-q", "--out", "json="+out)
			if res.code == 2 {
				t.Fatalf("exit 2: %s", res.stderr)
			}
			r, _ := readRun(t, out)
			if r.Summary.Errors != 0 || r.Summary.Requests == 0 {
				t.Fatalf("exit %d, %d requests, %d errors: %+v\n%s", res.code, r.Summary.Requests, r.Summary.Errors, r.Errors, res.stderr)
			}
			var in int64
			for _, s := range r.Steps {
				in += s.MessagesIn
			}
			if in == 0 {
				t.Errorf("no messages received in the Run's steps")
			}
		})
	}
}

// demo serve --grpc-addr also serves the catalogue, and says where.
func TestDemoServeGRPC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	res := runCLI(t, ctx, "demo", "serve", "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0")
	if !strings.Contains(res.stdout, "demo shop gRPC catalogue on grpc://127.0.0.1:") {
		t.Errorf("stdout %q", res.stdout)
	}
}
