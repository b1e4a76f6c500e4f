// Package netcond runs a load under network conditions: a shaping TCP
// proxy on a loopback port between the generator and the target, with a
// plan's `network:` block (added latency and jitter each way, bandwidth
// per connection and shared by all of them, connections reset, stalled
// or closed slowly at a rate) applied by Shopify's toxiproxy, embedded in
// the process, with one toxic of our own for the shared line (shared.go).
//
// The design trades precision for honesty about what is shaped: it is a
// TCP proxy, so latency is added per chunk of data read (a delay line:
// data keeps flowing while earlier data waits), bandwidth is a per
// connection limit applied in whole kB/s (the shared one in bytes/s,
// cut into tenths of a second of the line) and delays in whole
// milliseconds, and loss is loss of connections, never of packets. Every
// connection draws independently whether it is lost, stalled or reset.
// Only loopback targets are shaped: the proxy listens on 127.0.0.1 and a
// load through it must not be mistaken for one over a real network.
//
// Shape rewrites the plan so its target is the proxy and keeps the Host
// header (and the TLS server name) the target expects.
package netcond

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"strings"
	"sync"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// ErrNotLoopback refuses to shape a target that is not on this machine.
var ErrNotLoopback = errors.New("network conditions shape loopback targets only (127.0.0.0/8, ::1, localhost)")

// Proxy is a running shaping proxy. Close is safe from any goroutine,
// once or more.
type Proxy struct {
	p    *toxiproxy.Proxy
	once sync.Once
	// Addr is where the proxy listens: 127.0.0.1 and a free port.
	Addr string
	// Applied is the conditions as applied: rounded to what the proxy
	// can do, whole milliseconds and kB/s.
	Applied result.Network
}

// Start runs a proxy to upstream (host:port, loopback) shaping as n says.
func Start(n *plan.Network, upstream string) (*Proxy, error) {
	host, _, err := net.SplitHostPort(upstream)
	if err != nil {
		return nil, fmt.Errorf("network conditions: target address %q: %w", upstream, err)
	}
	if !plan.Loopback(host) {
		return nil, fmt.Errorf("%w: the target is %s", ErrNotLoopback, host)
	}
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	tp := toxiproxy.NewProxy(srv, "stampede", "127.0.0.1:0", upstream)
	applied, err := addToxics(tp, n)
	if err != nil {
		return nil, err
	}
	if err := tp.Start(); err != nil {
		return nil, fmt.Errorf("network conditions: cannot start the proxy: %w", err)
	}
	return &Proxy{p: tp, Addr: tp.Listen, Applied: conditions(n, applied)}, nil
}

// Close stops the proxy and closes every connection through it.
func (p *Proxy) Close() {
	p.once.Do(p.p.Stop)
}

// toxic is one toxic as toxiproxy's JSON describes it.
type toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Toxicity   float32        `json:"toxicity"`
	Attributes map[string]any `json:"attributes"`
}

// Conditions is what a run records of n: the conditions a proxy would
// apply.
func Conditions(n *plan.Network) result.Network {
	_, applied := toxics(n)
	return conditions(n, applied)
}

// conditions is what the run records of n, applied as a says.
func conditions(n *plan.Network, a *plan.Network) result.Network {
	up, down := a.Way(a.Up), a.Way(a.Down)
	msOf := func(d plan.Duration) float64 { return float64(d.D().Microseconds()) / 1000 }
	r := result.Network{Conditions: a.String(),
		UpLatencyMS: msOf(up.Latency), DownLatencyMS: msOf(down.Latency),
		UpJitterMS: msOf(up.Jitter), DownJitterMS: msOf(down.Jitter),
		UpBandwidthBPS: int64(up.Bandwidth), DownBandwidthBPS: int64(down.Bandwidth), TotalBandwidthBPS: int64(a.TotalBandwidth),
		Loss: float64(n.Loss), Stall: float64(n.Stall), Resets: float64(n.Resets), SlowCloseMS: msOf(n.SlowClose)}
	if n.Resets > 0 {
		r.ResetAfterS = n.ResetDelay().Seconds()
	}
	return r
}

// toxics are the toxics of n, in the order data meets them, and the
// conditions they apply.
func toxics(n *plan.Network) ([]toxic, *plan.Network) {
	var out []toxic
	applied := *n
	way := func(w plan.NetworkWay, stream string) plan.NetworkWay {
		lat, jit := ms(w.Latency), ms(w.Jitter)
		if lat > 0 {
			out = append(out, toxic{Name: "latency_" + stream, Type: "latency", Stream: stream, Toxicity: 1,
				Attributes: map[string]any{"latency": lat, "jitter": jit}})
		}
		var kBs int64
		if w.Bandwidth > 0 {
			kBs = max(1, int64(math.Round(w.Bandwidth.BytesPerSecond()/1000)))
			out = append(out, toxic{Name: "bandwidth_" + stream, Type: "bandwidth", Stream: stream, Toxicity: 1,
				Attributes: map[string]any{"rate": kBs}})
		}
		return plan.NetworkWay{Latency: plan.Duration(lat * 1e6), Jitter: plan.Duration(jit * 1e6), Bandwidth: plan.Bitrate(kBs * 8000)}
	}
	up := way(n.Way(n.Up), "upstream")
	down := way(n.Way(n.Down), "downstream")
	applied.Latency, applied.Jitter, applied.Bandwidth = 0, 0, 0
	applied.Up, applied.Down = &up, &down
	if up == down {
		applied.Latency, applied.Jitter, applied.Bandwidth = up.Latency, up.Jitter, up.Bandwidth
		applied.Up, applied.Down = nil, nil
	}
	// The shared line comes after each connection's own limits: data
	// leaves its connection's limit, then waits for the line.
	if n.TotalBandwidth > 0 {
		bps := max(1, int64(math.Round(n.TotalBandwidth.BytesPerSecond())))
		for _, s := range []string{"upstream", "downstream"} {
			out = append(out, toxic{Name: "total_bandwidth_" + s, Type: sharedBandwidthType, Stream: s, Toxicity: 1,
				Attributes: map[string]any{"rate": bps}})
		}
		applied.TotalBandwidth = plan.Bitrate(bps * 8)
	}
	// A lost connection is reset as its request arrives; a stalled one
	// passes no request at all; a reset one holds its response back and
	// is reset reset_after after it starts (toxiproxy's reset_peer drops
	// the data it waits on).
	if n.Loss > 0 {
		out = append(out, toxic{Name: "loss", Type: "reset_peer", Stream: "upstream", Toxicity: float32(n.Loss),
			Attributes: map[string]any{"timeout": 0}})
	}
	if n.Stall > 0 {
		out = append(out, toxic{Name: "stall", Type: "timeout", Stream: "upstream", Toxicity: float32(n.Stall),
			Attributes: map[string]any{"timeout": 0}})
	}
	if n.Resets > 0 {
		out = append(out, toxic{Name: "resets", Type: "reset_peer", Stream: "downstream", Toxicity: float32(n.Resets),
			Attributes: map[string]any{"timeout": ms(plan.Duration(n.ResetDelay()))}})
	}
	if n.SlowClose > 0 {
		for _, s := range []string{"upstream", "downstream"} {
			out = append(out, toxic{Name: "slow_close_" + s, Type: "slow_close", Stream: s, Toxicity: 1,
				Attributes: map[string]any{"delay": ms(n.SlowClose)}})
		}
	}
	return out, &applied
}

// ms is d in whole milliseconds, the proxy's unit.
func ms(d plan.Duration) int64 { return int64(math.Round(float64(d.D().Microseconds()) / 1000)) }

func addToxics(tp *toxiproxy.Proxy, n *plan.Network) (*plan.Network, error) {
	ts, applied := toxics(n)
	for _, t := range ts {
		b, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		if _, err := tp.Toxics.AddToxicJson(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("network conditions: cannot add %s: %w", t.Name, err)
		}
	}
	return applied, nil
}

// Shape starts a proxy for p's load (p.Load.Network) and returns a copy
// of p whose target is the proxy, with the Host header and the TLS
// server name of the real target kept; nil, nil when the load shapes
// nothing. The caller closes the proxy after the load. Steps with an
// absolute URL to another host are not shaped.
func Shape(p *plan.Plan) (*plan.Plan, *Proxy, error) {
	n := p.Load.Network
	if !n.Shapes() {
		return p, nil, nil
	}
	u, err := url.Parse(p.Target.BaseURL)
	if err != nil || u.Host == "" {
		return nil, nil, fmt.Errorf("network conditions need target.base_url, an absolute URL of the target: got %q", p.Target.BaseURL)
	}
	addr := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" || u.Scheme == "wss" {
			port = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	px, err := Start(n, addr)
	if err != nil {
		return nil, nil, err
	}
	q := *p
	t := q.Target
	v := *u
	v.Host = px.Addr
	t.BaseURL = v.String()
	t.Headers = maps.Clone(t.Headers)
	if t.Headers == nil {
		t.Headers = map[string]string{}
	}
	if !hasHeader(t.Headers, "Host") {
		t.Headers["Host"] = u.Host
	}
	if u.Scheme == "https" || u.Scheme == "wss" {
		tls := plan.TLS{}
		if t.TLS != nil {
			tls = *t.TLS
		}
		if tls.ServerName == "" {
			tls.ServerName = u.Hostname()
		}
		t.TLS = &tls
	}
	q.Target = t
	return &q, px, nil
}

func hasHeader(h map[string]string, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}
