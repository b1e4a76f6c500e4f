package plan

import (
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

var portPlaceholder = regexp.MustCompile(`\{\{\s*port\s*\}\}`)

// The load balancers stampede can put in front of instances.
const (
	BalancerNginx   = "nginx"
	BalancerHAProxy = "haproxy"
)

// DefaultInstanceReady is how long an instance may take to listen on
// its port unless tests.scalability.instances.ready says otherwise.
const DefaultInstanceReady = 10 * time.Second

// checkInstances reports the problems of tests.scalability.instances:
// a command that takes {{ port }}, increasing counts from 1 to
// MaxInstances, a balancer stampede can run, and a target the balancer
// can listen on (a loopback http address with its port).
func (p *Plan) checkInstances(s *ScalabilitySpec, add func(path, format string, args ...any)) {
	in, path := s.Instances, "tests.scalability.instances"
	if strings.TrimSpace(s.Apply) != "" {
		add("tests.scalability", "set apply (your own command) or instances (local processes behind a balancer), not both")
	}
	if !portPlaceholder.MatchString(in.Command) {
		add(path+".command", "required, with {{ port }} where the instance's listening port goes, e.g. ./server --addr 127.0.0.1:{{ port }}")
	}
	if len(in.Count) == 0 {
		add(path+".count", "give the instance counts to measure, e.g. [1, 2, 4, 8]")
	}
	for i, n := range in.Count {
		switch {
		case n < 1 || n > MaxInstances:
			add(indexPath(path+".count", i), "must be between 1 and %d, got %d", MaxInstances, n)
		case i > 0 && n <= in.Count[i-1]:
			add(indexPath(path+".count", i), "counts must increase, got %d after %d", n, in.Count[i-1])
		}
	}
	switch in.Balancer {
	case "", BalancerNginx, BalancerHAProxy:
	default:
		add(path+".balancer", "unknown balancer %q: use nginx or haproxy", in.Balancer)
	}
	if in.Ready < 0 || in.Ready > MaxWait {
		add(path+".ready", "must be between 0s and %v", time.Duration(MaxWait))
	}
	if _, err := BalancerAddr(p.Target.BaseURL); err != nil {
		add("target.base_url", "%v", err)
	}
}

// BalancerAddr is the host:port a load balancer in front of instances
// listens on: the plan's target, which must be plain http on a loopback
// address with an explicit port.
func BalancerAddr(baseURL string) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "http" || u.Port() == "" {
		return "", errBalancerTarget(baseURL)
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() {
		return "", errBalancerTarget(baseURL)
	}
	return u.Host, nil
}

type balancerTargetError string

func (e balancerTargetError) Error() string {
	return "scaling instances puts the balancer on the target, so the target must be http://127.0.0.1:PORT (a loopback address with a port), got " + string(e)
}

func errBalancerTarget(u string) error { return balancerTargetError(u) }
