package plan

import (
	"testing"
)

func TestStreamStepProblems(t *testing.T) {
	runProblemCases(t, []problemCase{
		{
			name: "ws scenario must connect first",
			why:  "the connection lasts one iteration, so the first ws step opens it",
			doc: head + `scenarios:
  - name: a
    steps:
      - ws: {send: hi}
`,
			want: []string{"t.yaml:6:13: scenarios[0].steps[0].ws.connect: required: the first ws step of a scenario opens the connection (it lasts one iteration)"},
		},
		{
			name: "ws fields",
			why:  "each ws field is checked where it was written",
			doc: head + `scenarios:
  - name: a
    steps:
      - ws: {connect: "http://x/ws", subprotocols: [a]}
      - ws: {send: a, json: {b: 1}, rate: 5}
      - ws: {expect: {regex: "("}}
      - ws: {binary: true}
      - ws: {}
`,
			want: []string{
				`t.yaml:6:23: scenarios[0].steps[0].ws.connect: must be a ws:// or wss:// URL or a path joined to target.base_url, got "http://x/ws"`,
				"t.yaml:7:29: scenarios[0].steps[1].ws.json: set send or json, not both",
				"t.yaml:7:43: scenarios[0].steps[1].ws.rate: applies to a hold: set hold too",
				"t.yaml:8:30: scenarios[0].steps[2].ws.expect.regex: invalid regex: error parsing regexp: missing closing ): `(`",
				"t.yaml:9:22: scenarios[0].steps[3].ws.binary: applies to a message: set send or json",
				"t.yaml:10:13: scenarios[0].steps[4].ws: empty ws step: set connect, send (or json), expect, hold or close",
			},
		},
		{
			name: "grpc fields",
			why:  "method, url and HTTP-only fields are refused with their positions",
			doc: head + `scenarios:
  - name: a
    steps:
      - grpc: {url: "http://x:1", method: Nope}
      - {grpc: {method: a.B/C}, method: POST, headers: {a: b}}
`,
			want: []string{
				`t.yaml:6:21: scenarios[0].steps[0].grpc.url: must be grpc://host:port or grpcs://host:port (TLS), got "http://x:1"`,
				`t.yaml:6:43: scenarios[0].steps[0].grpc.method: must be package.Service/Method, got "Nope"`,
				"t.yaml:7:41: scenarios[0].steps[1].method: applies to HTTP steps only (this step runs grpc)",
				"t.yaml:7:56: scenarios[0].steps[1].headers: applies to HTTP steps only (this step runs grpc)",
			},
		},
		{
			name: "one protocol a step",
			why:  "a step runs exactly one protocol",
			doc: head + `scenarios:
  - name: a
    steps:
      - {path: /, grpc: {method: a.B/C}}
`,
			want: []string{"t.yaml:6:9: scenarios[0].steps[0]: set one of path (HTTP request), sql (database query), ws (WebSocket) or grpc (gRPC call), not several"},
		},
	})
}

func TestStreamStepDefaults(t *testing.T) {
	p, err := Parse("t.yaml", []byte(head+`scenarios:
  - name: a
    steps:
      - ws: {connect: /ws}
      - ws: {hold: 2s}
      - grpc: {url: "grpc://127.0.0.1:1", method: shop.Catalogue/Get}
`))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range p.Scenarios[0].Steps {
		names = append(names, st.Name)
		if st.Method != "" {
			t.Errorf("step %q got HTTP method %q", st.Name, st.Method)
		}
	}
	want := []string{"WS connect /ws", "WS hold 2s", "shop.Catalogue/Get"}
	if len(names) != 3 || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Errorf("names %q, want %q", names, want)
	}
}
