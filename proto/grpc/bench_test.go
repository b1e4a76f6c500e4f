package grpc_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/proto/prototest"
)

func healthServer(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	go srv.Serve(ln)
	b.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// BenchmarkStep is one grpc step's call, types by reflection; compare
// with BenchmarkPlainClient, the generated client on the same server.
func BenchmarkStep(b *testing.B) {
	addr := healthServer(b)
	test, err := prototest.Compile(b, b.TempDir(), head+`      - {name: check, grpc: {url: "grpc://`+addr+`", method: grpc.health.v1.Health/Check}}
`)
	if err != nil {
		b.Fatal(err)
	}
	vu := prototest.NewVU(b, test)
	st := test.Scenarios[0].Steps[0]
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var s metrics.Sample
		st.Do(ctx, vu, &s)
		if s.Kind != metrics.KindNone {
			b.Fatal(s.Kind)
		}
	}
}

func BenchmarkPlainClient(b *testing.B) {
	addr := healthServer(b)
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	c := healthpb.NewHealthClient(cc)
	req := &healthpb.HealthCheckRequest{}
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := c.Check(ctx, req); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
}
