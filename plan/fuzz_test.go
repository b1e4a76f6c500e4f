package plan

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary documents to Parse: it must never panic, every
// failure must be a *ValidationError whose problems all point into the
// document, and a plan that parses must stay valid when defaults are
// applied again.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"scenarios: [{name: a, steps: [{path: /}]}]\nload: {duration: 1}\ntarget: {base_url: http://x}\n",
		"a: &x {b: *x}\n",
		"a: &a [*a]\n",
		"x: &x {<<: *x}\n",
		"- 1\n- 2\n",
		"load: {stages: [{users: 1, rate: 2}]}\n",
		"thresholds: [p95 <, {expr: 'rps > x', scope: a/b}]\n",
		"---\na: 1\n---\nb: 2\n",
		"target: {base_url: http://x}\nload: {duration: 1s}\nscenarios: [{name: a, steps: [{ws: {connect: /ws, subprotocols: [p], send: '{{ vu }}', expect: {json: [{path: a, equals: 1}], regex: b}, hold: 1s, rate: 2, close: true}}, {grpc: {url: 'grpc://h:1', method: a.B/C, message: {a: 1}, metadata: {k: v}, proto: [a.proto], import_paths: [.]}}]}]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error is %T, want *ValidationError: %v", err, err)
			}
			if len(ve.Problems) == 0 {
				t.Fatal("ValidationError without problems")
			}
			lines := lineCount(data)
			for _, pr := range ve.Problems {
				// Every problem is positioned, even in an empty document
				// (the root is at 1:1).
				if pr.Line < 1 || pr.Col < 1 || pr.Line > lines {
					t.Errorf("problem outside the %d-line document: %+v", lines, pr)
				}
				if pr.File != "fuzz.yaml" {
					t.Errorf("problem names file %q, want fuzz.yaml: %+v", pr.File, pr)
				}
				if pr.Msg == "" {
					t.Errorf("problem without a message: %+v", pr)
				}
			}
			return
		}
		if p == nil {
			t.Fatal("Parse returned neither a plan nor an error")
		}
		p.ApplyDefaults()
		if err := p.Validate(); err != nil {
			t.Fatalf("a parsed plan is invalid after ApplyDefaults again:\n%v", err)
		}
	})
}
