package plan

import (
	"strings"
	"testing"
)

func TestDistributedBlock(t *testing.T) {
	const base = "name: x\ntarget: { base_url: \"http://127.0.0.1:8080\" }\nscenarios: [{ name: s, steps: [{ path: / }] }]\nload: { vus: 1, duration: 1s }\n"
	for _, tc := range []struct {
		why, block, want string // want: "" valid, else a fragment of the error
	}{
		{"the defaults", "distributed: {}\n", ""},
		{"abort on loss", "distributed: { on_agent_loss: abort, heartbeat: 2s }\n", ""},
		{"an unknown policy", "distributed: { on_agent_loss: retry }\n", `distributed.on_agent_loss: unknown policy "retry"`},
		{"a heartbeat too short to tell a loss from a pause", "distributed: { heartbeat: 100ms }\n", "distributed.heartbeat"},
		{"a heartbeat too long to notice anything", "distributed: { heartbeat: 1h }\n", "distributed.heartbeat"},
		{"a misspelt field", "distributed: { on_loss: abort }\n", "on_loss"},
	} {
		p, err := Parse("plan.yaml", []byte(base+tc.block))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.why, err)
		case tc.want == "" && p.Distributed == nil:
			t.Errorf("%s: the block was not decoded", tc.why)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error naming %s", tc.why, err, tc.want)
		}
	}
}
