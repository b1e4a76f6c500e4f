package plan

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBitrateForms(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Bitrate
		ok   bool
	}{
		{"1Mbit/s", 1_000_000, true},
		{"1 mbit/s", 1_000_000, true},
		{"10Mbps", 10_000_000, true},
		{"512kbit/s", 512_000, true},
		{"1.5Gbit/s", 1_500_000_000, true},
		{"8000", 8000, true},
		{"100bit/s", 100, true},
		{"1MB/s", 0, false}, // bytes are not bits: refused, not guessed
		{"fast", 0, false},
		{"", 0, false},
		{"-1Mbit/s", 0, false},
	} {
		got, ok := ParseBitrate(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseBitrate(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if s := Bitrate(1_500_000).String(); s != "1.5Mbit/s" {
		t.Errorf("1.5 Mbit/s prints as %q", s)
	}
}

func TestShareForms(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Share
		ok   bool
	}{
		{"2%", 0.02, true},
		{"0.5 %", 0.005, true},
		{"0.02", 0.02, true},
		{"100%", 1, true},
		{"two", 0, false},
		{"NaN", 0, false},
	} {
		got, ok := ParseShare(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseShare(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

const networkPlan = `name: shaped
target: {base_url: http://127.0.0.1:8080}
scenarios: [{name: s, steps: [{path: /}]}]
load:
  vus: 1
  duration: 1s
  network:
`

// A network block decodes every field, in its short forms.
func TestNetworkDecodes(t *testing.T) {
	p, err := Parse("n.yaml", []byte(networkPlan+`    latency: 50ms
    jitter: 5ms
    bandwidth: 10Mbit/s
    down: {bandwidth: 1Mbit/s, latency: 80ms}
    loss: 2%
    stall: 0.005
    slow_close: 200ms
    resets: 1%
    reset_after: 2s
`))
	if err != nil {
		t.Fatal(err)
	}
	n := p.Load.Network
	want := Network{Latency: Duration(50 * time.Millisecond), Jitter: Duration(5 * time.Millisecond), Bandwidth: 10_000_000,
		Down: &NetworkWay{Bandwidth: 1_000_000, Latency: Duration(80 * time.Millisecond)},
		Loss: 0.02, Stall: 0.005, SlowClose: Duration(200 * time.Millisecond), Resets: 0.01, ResetAfter: Duration(2 * time.Second)}
	if n == nil || n.Down == nil || *n.Down != *want.Down {
		t.Fatalf("decoded %+v", n)
	}
	n.Down, want.Down = nil, nil
	if *n != want {
		t.Fatalf("decoded %+v, want %+v", *n, want)
	}
	p.Load.Network.Down = &NetworkWay{Bandwidth: 1_000_000, Latency: Duration(80 * time.Millisecond)}
	got := p.Load.Network.String()
	for _, part := range []string{"latency 50ms up ±5ms", "latency 80ms down ±5ms", "10Mbit/s per connection up", "1Mbit/s per connection down", "loss 2% of connections", "stall 0.5% of connections", "resets 1% of connections 2s into the response", "slow close 200ms"} {
		if !strings.Contains(got, part) {
			t.Errorf("%q lacks %q", got, part)
		}
	}
}

// Every bound is checked, each problem reported with the file, line and
// field it is about.
func TestNetworkBounds(t *testing.T) {
	for _, c := range []struct {
		why, block, want string
	}{
		{"a minute is the most latency", "    latency: 61s\n", "n.yaml:8:14: load.network.latency: must be from 0 to 1m0s, got 1m1s"},
		{"negative latency", "    latency: -1ms\n", "load.network.latency: negative duration"},
		{"a slow close over a minute", "    slow_close: 2m\n", "load.network.slow_close: must be from 0 to 1m0s"},
		{"jitter past the latency would be a negative delay", "    latency: 10ms\n    jitter: 20ms\n", "load.network.jitter: must not exceed the latency (10ms)"},
		{"too slow to shape", "    bandwidth: 1kbit/s\n", "load.network.bandwidth: must be from 8kbit/s to 100Gbit/s, got 1kbit/s"},
		{"bytes are not bits", "    bandwidth: 1MB/s\n", "load.network.bandwidth: expected a rate like 1Mbit/s"},
		{"loss over 100%", "    loss: 120%\n", "load.network.loss: must be from 0 to 100% (write 2% or 0.02), got 1.2"},
		{"loss as a bare percentage", "    loss: 2\n", "load.network.loss: must be from 0 to 100%"},
		{"loss as a word", "    loss: some\n", "load.network.loss: expected a share like 2% or 0.02"},
		{"shares above all connections", "    loss: 60%\n    stall: 50%\n", "load.network: loss, stall and resets add up to 110%"},
		{"reset_after alone", "    reset_after: 1s\n", "load.network.reset_after: applies to resets"},
		{"a way's own bound", "    up: {latency: 2m}\n", "load.network.up.latency: must be from 0 to 1m0s"},
	} {
		_, err := Parse("n.yaml", []byte(networkPlan+c.block))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: got %v, want a validation error", c.why, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got\n%v\nwant %q", c.why, err, c.want)
		}
	}
}

// A target elsewhere is never shaped: the proxy is on this machine.
func TestNetworkShapesLoopbackOnly(t *testing.T) {
	doc := strings.Replace(networkPlan, "127.0.0.1:8080", "shop.example.com", 1) + "    latency: 10ms\n"
	_, err := Parse("n.yaml", []byte(doc))
	if err == nil || !strings.Contains(err.Error(), "load.network: shapes loopback targets only") || !strings.Contains(err.Error(), "shop.example.com") {
		t.Fatalf("got %v", err)
	}
	for _, host := range []string{"localhost:1", "[::1]:1", "127.0.0.2"} {
		doc := strings.Replace(networkPlan, "http://127.0.0.1:8080", `"http://`+host+`"`, 1) + "    latency: 10ms\n"
		if _, err := Parse("n.yaml", []byte(doc)); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
}

// A named load takes a network block of its own, checked at its path.
func TestNamedLoadNetwork(t *testing.T) {
	_, err := Parse("n.yaml", []byte(`name: two
target: {base_url: http://127.0.0.1:8080}
scenarios: [{name: a, steps: [{path: /}]}, {name: b, steps: [{path: /}]}]
loads:
  mobile: {vus: 1, duration: 1s, scenarios: [a], network: {latency: 90s}}
  desk:   {vus: 1, duration: 1s, scenarios: [b]}
`))
	if err == nil || !strings.Contains(err.Error(), "loads.mobile.network.latency: must be from 0 to 1m0s") {
		t.Fatalf("got %v", err)
	}
}

func FuzzParseBitrate(f *testing.F) {
	for _, s := range []string{"1Mbit/s", "10Mbps", "512 kbit/s", "1.5Gbit/s", "8000", "", ".", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, ok := ParseBitrate(s)
		if !ok {
			return
		}
		if b < 0 {
			t.Fatalf("%q parsed as a negative rate %d", s, b)
		}
		// What a rate prints as parses back to within the printed digits.
		back, ok := ParseBitrate(b.String())
		if !ok || float64(back) < float64(b)*0.999 || float64(back) > float64(b)*1.001+1 {
			t.Fatalf("%q → %d → %q → %d, %v", s, b, b.String(), back, ok)
		}
	})
}

func FuzzParseShare(f *testing.F) {
	for _, s := range []string{"2%", "0.02", "100 %", "", "%", "1e-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseShare(s)
		if ok && (v != v || v > 1e308 || v < -1e308) {
			t.Fatalf("%q parsed as %v", s, v)
		}
	})
}

const networkStressPlan = `name: stepped
target: {base_url: http://127.0.0.1:8080}
scenarios: [{name: s, steps: [{path: /}]}]
load: {vus: 1, duration: 1s}
tests:
  stress:
    variant: network
`

// The network variant decodes its steps and checks them, each problem
// at its own index.
func TestNetworkStressSteps(t *testing.T) {
	p, err := Parse("s.yaml", []byte(networkStressPlan+"    users: 10\n    network: {latency: [0, 50ms, 100ms, 200ms, 400ms]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests, err := p.Protocol("")
	if err != nil {
		t.Fatal(err)
	}
	name, unit, values := tests.Stress.Network.Condition()
	if name != ConditionLatency || unit != "ms added each way" || len(values) != 5 || values[4] != 400 {
		t.Fatalf("%s %s %v", name, unit, values)
	}
	base := &Network{Latency: Duration(time.Second), Jitter: Duration(20 * time.Millisecond), Loss: 0.01}
	if n := tests.Stress.Network.At(base, 1); n.Latency.D() != 50*time.Millisecond || n.Jitter.D() != 20*time.Millisecond || n.Loss != 0.01 {
		t.Fatalf("step 1 under the plan's network: %+v", n)
	}
	if n := tests.Stress.Network.At(base, 0); n.Latency != 0 || n.Jitter != 0 {
		t.Fatalf("step 0 adds no latency, and so no jitter: %+v", n)
	}
	for _, c := range []struct{ why, block, want string }{
		{"no fixed load", "    network: {latency: [0, 50ms]}\n", "tests.stress: the network variant steps a condition at a fixed load: set users or rate"},
		{"no steps", "    users: 1\n", "tests.stress.network: required by the network variant"},
		{"two conditions", "    users: 1\n    network: {latency: [0], loss: [1%]}\n", "tests.stress.network: step exactly one condition (latency, bandwidth or loss), got 2"},
		{"a step too long", "    users: 1\n    network: {latency: [0, 2m]}\n", "tests.stress.network.latency[1]: must be from 0 to 1m0s, got 2m0s"},
		{"an unshaped bandwidth step", "    users: 1\n    network: {bandwidth: [100Mbit/s, 0]}\n", "tests.stress.network.bandwidth[1]: must be a rate from 8kbit/s"},
		{"loss over 100%", "    users: 1\n    network: {loss: [0, 150%]}\n", "tests.stress.network.loss[1]: must be from 0 to 100%"},
	} {
		p, err := Parse("s.yaml", []byte(networkStressPlan+c.block))
		if err == nil {
			_, err = p.Protocol("")
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.why, err, c.want)
		}
	}
	doc := strings.Replace(networkStressPlan, "variant: network", "variant: users", 1) + "    network: {latency: [0]}\n"
	p, err = Parse("s.yaml", []byte(doc))
	if err == nil {
		_, err = p.Protocol("")
	}
	if err == nil || !strings.Contains(err.Error(), "tests.stress.network: steps the network variant") {
		t.Errorf("network steps on the users variant: %v", err)
	}
}

// A protocol phase takes network conditions of its own, checked at its
// path; one way's jitter is checked against the latency that applies.
func TestPhaseNetwork(t *testing.T) {
	doc := `name: phases
target: {base_url: http://127.0.0.1:8080}
scenarios: [{name: s, steps: [{path: /}]}]
load: {vus: 1, duration: 1s, network: {latency: 20ms, up: {jitter: 10ms}}}
tests:
  load:
    - {name: mobile, users: 5, duration: 1m, network: {latency: 80ms, bandwidth: 2Mbit/s}}
    - {name: broken, users: 5, duration: 1m, network: {loss: 200%}}
`
	p, err := Parse("p.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Protocol("")
	if err == nil || !strings.Contains(err.Error(), "tests.load[1].network.loss: must be from 0 to 100%") {
		t.Fatalf("got %v", err)
	}
	p, err = Parse("p.yaml", []byte(strings.Replace(doc, "loss: 200%", "loss: 2%", 1)))
	if err != nil {
		t.Fatal(err)
	}
	tests, err := p.Protocol("")
	if err != nil {
		t.Fatal(err)
	}
	var mobile *PhaseSpec
	for _, l := range tests.Load {
		if l.Name == "mobile" {
			mobile = l
		}
	}
	if mobile == nil || mobile.Network == nil || mobile.Network.Latency.D() != 80*time.Millisecond {
		t.Fatalf("mobile phase %+v", mobile)
	}
}
