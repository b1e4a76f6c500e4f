package cli

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/plan"
)

// The demo's horizontal scaling (`stampede demo --only scalability`):
// the demo shop is the service, started 1, 2 and 4 times on free
// loopback ports (`stampede demo serve`) behind an nginx — or an haproxy
// when there is no nginx — that stampede configures and reloads between
// counts, listening on a free loopback port of its own that becomes the
// plan's target. Each instance has its own embedded database, so the
// load is the plan's stateless journey (Browse Products): a token one
// instance gave would be unknown to the next. Throughput per instance,
// efficiency, linearity and the USL fit are the scalability phase's.

// DemoScaleCounts are the instance counts of the demo's scaling.
var DemoScaleCounts = []int{1, 2, 4}

// demoScaleScenario is the example plan's stateless journey.
const demoScaleScenario = "Browse Products"

// demoScaleOnly says whether the demo runs only horizontal scaling.
func demoScaleOnly(only []string) bool {
	return len(only) == 1 && strings.TrimSpace(only[0]) == "scalability"
}

// demoScalePlan turns the demo plan p into the scaling of demo shop
// instances: the balancer on a free loopback port, the instances
// started by self (the executable and its extra environment).
func demoScalePlan(p *plan.Plan, exe string, env []string) (balancer string, err error) {
	switch {
	case lookPath("nginx"):
		balancer = plan.BalancerNginx
	case lookPath("haproxy"):
		balancer = plan.BalancerHAProxy
	default:
		return "", errors.New("stampede demo --only scalability puts nginx or haproxy in front of the shops: install one (Debian: apt-get install nginx-light, or haproxy)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	l.Close()
	p.Target.BaseURL = "http://" + addr
	var words []string
	if len(env) > 0 {
		words = append(words, "env")
		for _, kv := range env {
			words = append(words, shellQuote(kv))
		}
	}
	words = append(words, shellQuote(exe), "demo", "serve", "--addr", "127.0.0.1:{{ port }}")
	command := strings.Join(words, " ")
	p.Scenarios = slices.DeleteFunc(slices.Clone(p.Scenarios), func(sc *plan.Scenario) bool { return sc == nil || sc.Name != demoScaleScenario })
	if len(p.Scenarios) == 0 {
		return "", fmt.Errorf("the example plan has no %q journey to scale", demoScaleScenario)
	}
	p.Thresholds = slices.DeleteFunc(slices.Clone(p.Thresholds), func(th *plan.Threshold) bool {
		return th == nil || th.Scope != "" && th.Scope != demoScaleScenario && !strings.HasPrefix(th.Scope, demoScaleScenario+"/")
	})
	if p.Tests == nil {
		p.Tests = &plan.Tests{}
	}
	p.Tests.Scalability = &plan.ScalabilitySpec{Instances: &plan.InstancesSpec{Command: command, Count: DemoScaleCounts, Balancer: balancer}}
	p.System = nil // many processes, none of them the service alone
	return balancer, nil
}

func lookPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// shellQuote quotes s for sh: in single quotes, each quote inside
// closed, escaped and reopened.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
