package plan

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// A load's `network:` block puts a shaping proxy between the generator
// and the target, so the load runs as if over a slower, narrower or
// lossier network:
//
//	load:
//	  vus: 20
//	  duration: 2m
//	  network:
//	    latency: 50ms        # added each way (100ms more round trip)
//	    jitter: 5ms          # ± around the latency
//	    bandwidth: 10Mbit/s  # per connection, each way
//	    down: {bandwidth: 1Mbit/s}  # the target → generator way alone
//	    loss: 1%             # connections reset as they send their first bytes
//	    stall: 0.5%          # connections that stop passing data
//	    slow_close: 200ms    # a close reaches the other side this late
//	    resets: 2%           # connections whose response is held, then reset
//	    reset_after: 2s      #   this much later
//
// The proxy is a TCP proxy: loss is of connections, not of packets.

// Bounds of the network block.
const (
	MaxNetworkLatency = 60 * time.Second
	MinBandwidth      = Bitrate(8000)    // 8 kbit/s: the proxy limits in whole kB/s
	MaxBandwidth      = Bitrate(100e9)   // 100 Gbit/s: above it nothing is shaped
	DefaultResetAfter = 1 * time.Second  // resets without reset_after
	MaxResetAfter     = 10 * time.Minute // a connection reset later is not reset
)

// Network is the `network:` block of a load: the conditions the load
// runs under. The zero value shapes nothing.
type Network struct {
	// Latency is added each way, Jitter spreads it uniformly (±).
	Latency Duration `yaml:"latency" json:"latency,omitempty"`
	Jitter  Duration `yaml:"jitter" json:"jitter,omitempty"`
	// Bandwidth limits each connection, each way.
	Bandwidth Bitrate `yaml:"bandwidth" json:"bandwidth,omitempty"`
	// TotalBandwidth limits all the load's connections together, each
	// way: one line they share, as an office's uplink or a mobile cell.
	TotalBandwidth Bitrate `yaml:"total_bandwidth" json:"total_bandwidth,omitempty"`
	// Up (generator → target) and Down (target → generator) override
	// latency, jitter and bandwidth for one way.
	Up   *NetworkWay `yaml:"up" json:"up,omitempty"`
	Down *NetworkWay `yaml:"down" json:"down,omitempty"`
	// Loss is the share of connections reset as their first bytes
	// arrive: the request on them fails.
	Loss Share `yaml:"loss" json:"loss,omitempty"`
	// Stall is the share of connections that stop passing data; their
	// requests end at their timeout.
	Stall Share `yaml:"stall" json:"stall,omitempty"`
	// SlowClose delays each close by this long.
	SlowClose Duration `yaml:"slow_close" json:"slow_close,omitempty"`
	// Resets is the share of connections whose response is held back
	// and that are reset ResetAfter later (DefaultResetAfter when not
	// set): a peer that goes silent, then drops the connection.
	Resets     Share    `yaml:"resets" json:"resets,omitempty"`
	ResetAfter Duration `yaml:"reset_after" json:"reset_after,omitempty"`
}

// NetworkWay is what one way of the network adds.
type NetworkWay struct {
	Latency   Duration `yaml:"latency" json:"latency,omitempty"`
	Jitter    Duration `yaml:"jitter" json:"jitter,omitempty"`
	Bandwidth Bitrate  `yaml:"bandwidth" json:"bandwidth,omitempty"`
}

// Way is what the network adds one way: the block's latency, jitter and
// bandwidth with the way's own settings (w: n.Up or n.Down) over them.
func (n *Network) Way(w *NetworkWay) NetworkWay {
	out := NetworkWay{Latency: n.Latency, Jitter: n.Jitter, Bandwidth: n.Bandwidth}
	if w != nil {
		if w.Latency != 0 {
			out.Latency = w.Latency
		}
		if w.Jitter != 0 {
			out.Jitter = w.Jitter
		}
		if w.Bandwidth != 0 {
			out.Bandwidth = w.Bandwidth
		}
	}
	return out
}

// Shapes says whether n changes anything.
func (n *Network) Shapes() bool {
	if n == nil {
		return false
	}
	up, down := n.Way(n.Up), n.Way(n.Down)
	return up != (NetworkWay{}) || down != (NetworkWay{}) || n.TotalBandwidth > 0 || n.Loss > 0 || n.Stall > 0 || n.SlowClose > 0 || n.Resets > 0
}

// String describes n in one line, as a run reports it: "latency 50ms
// each way ±5ms, 1Mbit/s per connection, loss 2%".
func (n *Network) String() string {
	if !n.Shapes() {
		return "none"
	}
	var parts []string
	way := func(w NetworkWay, each string) {
		if w.Latency > 0 {
			s := "latency " + w.Latency.D().String() + " " + each
			if w.Jitter > 0 {
				s += " ±" + w.Jitter.D().String()
			}
			parts = append(parts, s)
		}
		if w.Bandwidth > 0 {
			parts = append(parts, w.Bandwidth.String()+" per connection "+each)
		}
	}
	up, down := n.Way(n.Up), n.Way(n.Down)
	if up == down {
		way(up, "each way")
	} else {
		way(up, "up")
		way(down, "down")
	}
	if n.TotalBandwidth > 0 {
		parts = append(parts, n.TotalBandwidth.String()+" shared by all connections each way")
	}
	if n.Loss > 0 {
		parts = append(parts, "loss "+n.Loss.String()+" of connections")
	}
	if n.Stall > 0 {
		parts = append(parts, "stall "+n.Stall.String()+" of connections")
	}
	if n.Resets > 0 {
		parts = append(parts, fmt.Sprintf("resets %s of connections %s into the response", n.Resets, n.ResetDelay()))
	}
	if n.SlowClose > 0 {
		parts = append(parts, "slow close "+n.SlowClose.D().String())
	}
	return strings.Join(parts, ", ")
}

// ResetDelay is how long a connection chosen for a reset lives.
func (n *Network) ResetDelay() time.Duration {
	if n.ResetAfter > 0 {
		return n.ResetAfter.D()
	}
	return DefaultResetAfter
}

// Loopback says whether host (a name or an address) is this machine.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// network checks a network block at path.
func (c *checker) network(path string, n *Network) { c.p.checkNetwork(path, n, c.add) }

// checkNetwork checks a network block at path.
func (p *Plan) checkNetwork(path string, n *Network, add addFunc) {
	if u, err := url.Parse(p.Target.BaseURL); err == nil && u.Host != "" && !Loopback(u.Hostname()) {
		add(path, "shapes loopback targets only (127.0.0.0/8, ::1, localhost), and target.base_url is on %s: run the target on this machine, or leave network out", u.Hostname())
	}
	checkNetworkWay(add, path, NetworkWay{Latency: n.Latency, Jitter: n.Jitter, Bandwidth: n.Bandwidth})
	checkBandwidth(add, fieldPath(path, "total_bandwidth"), n.TotalBandwidth)
	// A way is checked as it applies: its own settings over the block's.
	if n.Up != nil {
		checkNetworkWay(add, fieldPath(path, "up"), n.Way(n.Up))
	}
	if n.Down != nil {
		checkNetworkWay(add, fieldPath(path, "down"), n.Way(n.Down))
	}
	for _, s := range []struct {
		name string
		v    Share
	}{{"loss", n.Loss}, {"stall", n.Stall}, {"resets", n.Resets}} {
		checkShare(add, fieldPath(path, s.name), s.v)
	}
	if n.Loss+n.Stall+n.Resets > 1 {
		add(path, "loss, stall and resets add up to %s of connections: at most 100%%", n.Loss+n.Stall+n.Resets)
	}
	checkLatency(add, fieldPath(path, "slow_close"), n.SlowClose)
	if n.ResetAfter < 0 || n.ResetAfter.D() > MaxResetAfter {
		add(fieldPath(path, "reset_after"), "must be from 0 to %s, got %s", MaxResetAfter, n.ResetAfter.D())
	}
	if n.ResetAfter > 0 && n.Resets == 0 {
		add(fieldPath(path, "reset_after"), "applies to resets: set resets (the share of connections reset)")
	}
}

func checkNetworkWay(add addFunc, path string, w NetworkWay) {
	checkLatency(add, fieldPath(path, "latency"), w.Latency)
	checkLatency(add, fieldPath(path, "jitter"), w.Jitter)
	if w.Jitter > 0 && w.Jitter > w.Latency {
		add(fieldPath(path, "jitter"), "must not exceed the latency (%s), got %s: a delay cannot be negative", w.Latency.D(), w.Jitter.D())
	}
	checkBandwidth(add, fieldPath(path, "bandwidth"), w.Bandwidth)
}

// addFunc reports one problem at path.
type addFunc func(path, format string, args ...any)

// checkLatency checks an added delay: 0 to MaxNetworkLatency.
func checkLatency(add addFunc, path string, d Duration) {
	if d < 0 || d.D() > MaxNetworkLatency {
		add(path, "must be from 0 to %s, got %s", MaxNetworkLatency, d.D())
	}
}

// checkBandwidth checks a rate limit: none (0), or MinBandwidth to
// MaxBandwidth.
func checkBandwidth(add addFunc, path string, b Bitrate) {
	if b != 0 && (b < MinBandwidth || b > MaxBandwidth) {
		add(path, "must be from %s to %s, got %s", MinBandwidth, MaxBandwidth, b)
	}
}

// checkShare checks a share from 0 to 100%.
func checkShare(add addFunc, path string, s Share) {
	if s < 0 || s > 1 || math.IsNaN(float64(s)) {
		add(path, "must be from 0 to 100%% (write 2%% or 0.02), got %v", float64(s))
	}
}

// Bitrate is a rate in bits per second, written "1Mbit/s", "512kbit/s",
// "10Mbps", "1Gbit/s" (powers of 1000) or a number of bits per second.
type Bitrate int64

// ParseBitrate parses a rate: a number of bits/s, or a number with
// bit/s, kbit/s, Mbit/s, Gbit/s (or bps, kbps, Mbps, Gbps;
// case-insensitive, space allowed).
func ParseBitrate(s string) (Bitrate, bool) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" || strings.Contains(unit, "B") { // B is bytes: refused, not guessed
		return 0, false
	}
	mult := map[string]float64{"": 1, "bit": 1, "bps": 1, "kbit": 1e3, "kbps": 1e3, "mbit": 1e6, "mbps": 1e6, "gbit": 1e9, "gbps": 1e9}[strings.TrimSuffix(strings.ToLower(unit), "/s")]
	if mult == 0 || f*mult >= math.MaxInt64 {
		return 0, false
	}
	return Bitrate(math.Round(f * mult)), true
}

// String writes b in its largest whole unit: "1Mbit/s", "1.5Mbit/s",
// "800kbit/s".
func (b Bitrate) String() string {
	f := float64(b)
	unit := func(div float64, name string) string {
		return strconv.FormatFloat(math.Round(f/div*1000)/1000, 'f', -1, 64) + name
	}
	switch {
	case f >= 1e9:
		return unit(1e9, "Gbit/s")
	case f >= 1e6:
		return unit(1e6, "Mbit/s")
	case f >= 1e3:
		return unit(1e3, "kbit/s")
	}
	return strconv.FormatInt(int64(b), 10) + "bit/s"
}

// BytesPerSecond is b in bytes per second.
func (b Bitrate) BytesPerSecond() float64 { return float64(b) / 8 }

// Share is a fraction from 0 to 1, written "2%" or 0.02.
type Share float64

// ParseShare parses "2%", "0.5 %" or a fraction like 0.02.
func ParseShare(s string) (Share, bool) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	t = strings.TrimSpace(strings.TrimSuffix(t, "%"))
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	if pct {
		f /= 100
	}
	return Share(f), true
}

// String writes s as a percentage: "2%".
func (s Share) String() string {
	return strconv.FormatFloat(float64(s)*100, 'g', 4, 64) + "%"
}

// bitrate decodes a Bitrate: a number of bits/s or a rate with its unit.
func (d *decoder) bitrate(n ast.Node, v reflect.Value, path string) {
	switch x := n.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		if f, ok := d.floatValue(n, path); ok && f < math.MaxInt64 {
			v.SetInt(int64(math.Round(f)))
			return
		}
	case *ast.StringNode:
		if b, ok := ParseBitrate(x.Value); ok {
			v.SetInt(int64(b))
			return
		}
	}
	d.fail(n, path, "expected a rate like 1Mbit/s, 512kbit/s or 10Mbps, got %s", describe(n))
}

// share decodes a Share: "2%" or a fraction like 0.02.
func (d *decoder) share(n ast.Node, v reflect.Value, path string) {
	switch x := n.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		if f, ok := d.floatValue(n, path); ok {
			v.SetFloat(f)
			return
		}
		return
	case *ast.StringNode:
		if s, ok := ParseShare(x.Value); ok {
			v.SetFloat(float64(s))
			return
		}
	}
	d.fail(n, path, "expected a share like 2%% or 0.02, got %s", describe(n))
}

// VariantNetwork is the network stress variant: at a fixed load
// (tests.stress.users or rate), step one network condition
// (tests.stress.network) until the SLO breaks.
const VariantNetwork = "network"

// MaxNetworkSteps bounds the values of tests.stress.network.
const MaxNetworkSteps = 50

// NetworkSteps is tests.stress.network: the values one condition takes,
// one step each, in the order written (exactly one list is set):
//
//	tests:
//	  stress:
//	    variant: network
//	    users: 20
//	    network: {latency: [0, 50ms, 100ms, 200ms, 400ms]}
//	    # or {bandwidth: [100Mbit/s, 10Mbit/s, 1Mbit/s]}
//	    # or {loss: [0, 1%, 2%, 5%]}
//
// Each step runs under the plan's load.network with the stepped
// condition set to its value (latency each way).
type NetworkSteps struct {
	Latency   []Duration `yaml:"latency" json:"latency,omitempty"`
	Bandwidth []Bitrate  `yaml:"bandwidth" json:"bandwidth,omitempty"`
	Loss      []Share    `yaml:"loss" json:"loss,omitempty"`
}

// Stepped conditions.
const (
	ConditionLatency   = "latency"
	ConditionBandwidth = "bandwidth"
	ConditionLoss      = "loss"
)

// Condition is the stepped condition, its unit and its values in that
// unit (ms each way, Mbit/s, %).
func (s *NetworkSteps) Condition() (name, unit string, values []float64) {
	switch {
	case len(s.Latency) > 0:
		for _, d := range s.Latency {
			values = append(values, float64(d.D().Microseconds())/1000)
		}
		return ConditionLatency, "ms added each way", values
	case len(s.Bandwidth) > 0:
		for _, b := range s.Bandwidth {
			values = append(values, float64(b)/1e6)
		}
		return ConditionBandwidth, "Mbit/s per connection", values
	case len(s.Loss) > 0:
		for _, l := range s.Loss {
			values = append(values, 100*float64(l))
		}
		return ConditionLoss, "% of connections lost", values
	}
	return "", "", nil
}

// At is the network of step i: base (the plan's load.network, nil for
// none) with the stepped condition set to its i-th value.
func (s *NetworkSteps) At(base *Network, i int) *Network {
	n := Network{}
	if base != nil {
		n = *base
	}
	switch {
	case len(s.Latency) > 0:
		n.Latency = s.Latency[i]
		if n.Jitter > n.Latency {
			n.Jitter = n.Latency
		}
		n.Up, n.Down = withoutLatency(n.Up), withoutLatency(n.Down)
	case len(s.Bandwidth) > 0:
		n.Bandwidth = s.Bandwidth[i]
		n.Up, n.Down = withoutBandwidth(n.Up), withoutBandwidth(n.Down)
	case len(s.Loss) > 0:
		n.Loss = s.Loss[i]
	}
	return &n
}

func withoutLatency(w *NetworkWay) *NetworkWay {
	if w == nil {
		return nil
	}
	c := *w
	c.Latency, c.Jitter = 0, 0
	return &c
}

func withoutBandwidth(w *NetworkWay) *NetworkWay {
	if w == nil {
		return nil
	}
	c := *w
	c.Bandwidth = 0
	return &c
}

// networkStress checks tests.stress.network of the network variant
// (path is tests.stress).
func (p *Plan) checkNetworkStress(path string, s *StressSpec, add addFunc) {
	np := fieldPath(path, "network")
	if s.Variant != VariantNetwork {
		if s.Network != nil {
			add(np, "steps the network variant: set variant: network, or leave it out")
		}
		return
	}
	if s.Users == 0 && s.Rate == 0 {
		add(path, "the network variant steps a condition at a fixed load: set users or rate")
	}
	n := s.Network
	if n == nil {
		add(np, "required by the network variant: the values of one condition, e.g. {latency: [0, 50ms, 100ms, 200ms, 400ms]}")
		return
	}
	set := 0
	for _, l := range []int{len(n.Latency), len(n.Bandwidth), len(n.Loss)} {
		if l > 0 {
			set++
		}
	}
	if set != 1 {
		add(np, "step exactly one condition (latency, bandwidth or loss), got %d", set)
	}
	for _, l := range []struct {
		name string
		n    int
	}{{"latency", len(n.Latency)}, {"bandwidth", len(n.Bandwidth)}, {"loss", len(n.Loss)}} {
		if l.n > MaxNetworkSteps {
			add(fieldPath(np, l.name), "at most %d steps, got %d", MaxNetworkSteps, l.n)
		}
	}
	for i, d := range n.Latency {
		checkLatency(add, indexPath(fieldPath(np, "latency"), i), d)
	}
	for i, b := range n.Bandwidth {
		p := indexPath(fieldPath(np, "bandwidth"), i)
		if b == 0 {
			add(p, "must be a rate from %s to %s: leave the unshaped step out of a bandwidth list", MinBandwidth, MaxBandwidth)
		}
		checkBandwidth(add, p, b)
	}
	for i, l := range n.Loss {
		checkShare(add, indexPath(fieldPath(np, "loss"), i), l)
	}
	if p.Target.BaseURL != "" {
		if u, err := url.Parse(p.Target.BaseURL); err == nil && u.Host != "" && !Loopback(u.Hostname()) {
			add(np, "shapes loopback targets only (127.0.0.0/8, ::1, localhost), and target.base_url is on %s: run the target on this machine", u.Hostname())
		}
	}
}
