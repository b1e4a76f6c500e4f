package plan

import (
	"strings"
	"testing"
)

// TestInstancesValidation: each problem of tests.scalability.instances
// is reported with its path and what to do, all at once.
func TestInstancesValidation(t *testing.T) {
	cases := []struct {
		why, target, instances string
		want                   []string
	}{
		{"valid: configurations are made from the counts", "http://127.0.0.1:8088", `{ command: "./srv -port {{ port }}", count: [1, 2, 4, 8], balancer: nginx }`, nil},
		{"no port placeholder", "http://127.0.0.1:8088", `{ command: "./srv", count: [1, 2] }`, []string{"instances.command: required, with {{ port }}"}},
		{"counts out of order and out of bounds", "http://127.0.0.1:8088", `{ command: "x {{ port }}", count: [2, 2, 100] }`,
			[]string{"count[1]: counts must increase, got 2 after 2", "count[2]: must be between 1 and 64, got 100"}},
		{"valid: haproxy", "http://127.0.0.1:8088", `{ command: "x {{ port }}", count: [1, 2, 4, 8], balancer: haproxy }`, nil},
		{"an unknown balancer", "http://127.0.0.1:8088", `{ command: "x {{ port }}", count: [1], balancer: traefik }`, []string{`instances.balancer: unknown balancer "traefik": use nginx or haproxy`}},
		{"a target the balancer cannot listen on", "http://example.com", `{ command: "x {{ port }}", count: [1] }`, []string{"target.base_url: scaling instances puts the balancer on the target"}},
	}
	for _, c := range cases {
		t.Run(c.why, func(t *testing.T) {
			p, err := Parse("plan.yaml", []byte(`
name: x
target: { base_url: "`+c.target+`" }
scenarios: [{ name: s, steps: [{ path: / }] }]
load: { vus: 1, duration: 1s }
tests: { scalability: { instances: `+c.instances+` } }
`))
			if err != nil {
				t.Fatal(err)
			}
			tests, err := p.Protocol("")
			if len(c.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				s := tests.Scalability
				if ScaleUnit(s) != InstancesUnit || len(s.Configs) != 4 || s.Configs[3][InstancesUnit] != "8" {
					t.Errorf("configurations %v, unit %q", s.Configs, ScaleUnit(s))
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
