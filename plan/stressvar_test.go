package plan

import (
	"strings"
	"testing"
)

// TestResourceVariantsValidation: the cpu and memory variants' settings
// are checked with their paths and what to do, and a valid plan keeps
// them through the profile.
func TestResourceVariantsValidation(t *testing.T) {
	const system = "system: { process: { pid: 1 } }\n"
	cases := []struct {
		why, system, vars, stress string
		want                      []string
	}{
		{"valid cpu", system, "", `{ variant: cpu, scenarios: [s], cores: 2 }`, nil},
		{"valid memory", system, `variables: { rows: "1000" }`, `{ variant: memory, variable: rows, memory_mb: 300, gc_percent: 30, users: 4 }`, nil},
		{"no process watched", "", "", `{ variant: cpu }`, []string{"tests.stress.variant: the cpu variant reads the service's CPU from its process: add system: { process:"}},
		{"an unknown scenario and too many cores", system, "", `{ variant: cpu, scenarios: [s, nope], cores: 5000 }`,
			[]string{`tests.stress.scenarios[1]: no scenario named "nope"`, "tests.stress.cores: must be from 0 (the machine's cores) to 1024, got 5000"}},
		{"scenarios for another variant", system, "", `{ variant: rate, scenarios: [s] }`, []string{"tests.stress.scenarios: chooses the CPU-heavy scenarios of variant cpu, not rate"}},
		{"an undefined variable and bad limits", system, "", `{ variant: memory, variable: rows, memory_mb: -1, gc_percent: 150 }`,
			[]string{"tests.stress.variable: the memory variant steps variables.rows: define it", "tests.stress.memory_mb: must be from 0", "tests.stress.gc_percent: must be a percentage from 0"}},
	}
	for _, c := range cases {
		t.Run(c.why, func(t *testing.T) {
			p, err := Parse("plan.yaml", []byte(`
name: x
target: { base_url: "http://127.0.0.1:8088" }
scenarios: [{ name: s, steps: [{ path: "/" }] }]
load: { vus: 1, duration: 1s }
`+c.system+c.vars+`
tests: { stress: `+c.stress+` }
`))
			if err != nil {
				t.Fatal(err)
			}
			tests, err := p.Protocol("quick")
			if len(c.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				s := tests.Stress
				if s.Variant == VariantCPU && (len(s.Scenarios) != 1 || s.Cores != 2) {
					t.Errorf("cpu settings lost: %+v", s)
				}
				if s.Variant == VariantMemory && (s.StressVariable() != "rows" || s.MemoryMB != 300 || s.GCPercent != 30 || s.Users != 4) {
					t.Errorf("memory settings lost: %+v", s)
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

func TestScaleVariable(t *testing.T) {
	for _, c := range []struct {
		v    string
		m    float64
		want string
	}{{"1000", 4, "4000"}, {" 250 ", 2, "500"}, {"0.5", 3, "1.5"}, {"ab", 3, "ababab"}} {
		if got := ScaleVariable(c.v, c.m); got != c.want {
			t.Errorf("ScaleVariable(%q, %v) = %q, want %q", c.v, c.m, got, c.want)
		}
	}
}
