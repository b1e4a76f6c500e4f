package proto

import (
	"crypto/tls"
	"time"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/plan"
	grpcstep "github.com/stampede-perf/stampede/proto/grpc"
	wsstep "github.com/stampede-perf/stampede/proto/ws"
	"github.com/stampede-perf/stampede/tmpl"
)

// streams compiles the WebSocket and gRPC steps of one plan and makes
// their per-VU state.
type streams struct {
	p      *plan.Plan
	c      *tmpl.Compiler
	ws     wsstep.Config
	usesWS bool
	grpc   *grpcstep.Types // made for the first grpc step
	gcfg   grpcstep.Config
}

func newStreams(p *plan.Plan, c *tmpl.Compiler, timeout time.Duration, tlsCfg *tls.Config) *streams {
	maxMsg := int64(p.Target.MaxBody)
	if maxMsg <= 0 {
		maxMsg = plan.DefaultMaxBody
	}
	return &streams{p: p, c: c,
		ws:   wsstep.Config{Slot: slotWS, Timeout: timeout, TLS: tlsCfg, MaxMessage: maxMsg},
		gcfg: grpcstep.Config{Slot: slotGRPC, Timeout: timeout, TLS: tlsCfg, MaxMessage: int(maxMsg)}}
}

// streamStep is what Compile needs of a stream step besides running it.
type streamStep interface {
	load.Step
	Vars() []string
	Sets() []string
}

// lastWS reports whether step j is the last ws step of sc.
func lastWS(sc *plan.Scenario, j int) bool {
	for _, st := range sc.Steps[j+1:] {
		if st != nil && st.WS != nil {
			return false
		}
	}
	return true
}

// compile compiles step j of sc, a ws or grpc step.
func (s *streams) compile(sc *plan.Scenario, j int) (streamStep, string, error) {
	st := sc.Steps[j]
	if st.WS != nil {
		s.usesWS = true
		ws, err := wsstep.Compile(s.p.Target, st, s.c, s.ws, lastWS(sc, j))
		return ws, "ws", err
	}
	if s.grpc == nil {
		s.grpc = grpcstep.NewTypes(s.gcfg)
	}
	g, err := grpcstep.Compile(s.p.Target, st, s.c, s.grpc)
	return g, "grpc", err
}

// slots fills a VU's slots of the stream runners the plan uses.
func (s *streams) slots(slots []any) {
	if s.usesWS {
		slots[slotWS] = wsstep.NewClient()
	}
	if s.grpc != nil {
		slots[slotGRPC] = grpcstep.NewClient()
	}
}
