package watch_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

const docSection = "## Watching the system under test"

// readDoc returns the documentation section on watching, from docs/watch.md
// or from the README it is merged into.
func readDoc(t *testing.T) string {
	t.Helper()
	for _, path := range []string{"../docs/watch.md", "../README.md"} {
		data, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(data), docSection) {
			doc := string(data)[strings.Index(string(data), docSection)+len(docSection):]
			if end := strings.Index(doc, "\n## "); end >= 0 {
				doc = doc[:end]
			}
			return doc
		}
	}
	t.Fatalf("no documentation has the section %q", docSection)
	return ""
}

// codeBlocks returns the fenced blocks of the given language.
func codeBlocks(doc, lang string) []string {
	var out []string
	fence := "```" + lang + "\n"
	for {
		i := strings.Index(doc, fence)
		if i < 0 {
			return out
		}
		doc = doc[i+len(fence):]
		end := strings.Index(doc, "```")
		out = append(out, doc[:end])
		doc = doc[end+3:]
	}
}

// TestDocPlan decodes the documented plan with the plan package: it must
// be valid, and its system block must say what the text says it does.
func TestDocPlan(t *testing.T) {
	blocks := codeBlocks(readDoc(t), "yaml")
	if len(blocks) != 1 {
		t.Fatalf("%d yaml blocks, want the one plan", len(blocks))
	}
	p, err := plan.Parse("watch.md", []byte(blocks[0]))
	if err != nil {
		t.Fatalf("the documented plan is invalid: %v", err)
	}
	s := p.System
	if s == nil || s.Process == nil || s.Process.Name != "shop" ||
		s.Prometheus == nil || s.Prometheus.URL != "http://127.0.0.1:8080/metrics" ||
		strings.Join(s.Prometheus.Metrics, ",") != "http_requests_total,db_pool_*" ||
		s.Pprof != "http://127.0.0.1:6060/debug/pprof" ||
		s.Interval.D() != time.Second || s.CPUProfile.D() != 30*time.Second {
		t.Errorf("system block decodes to %+v", s)
	}
}

// TestDocJSON checks that the documented section uses only keys the Run
// document has.
func TestDocJSON(t *testing.T) {
	blocks := codeBlocks(readDoc(t), "json")
	if len(blocks) != 1 {
		t.Fatalf("%d json blocks, want the one example", len(blocks))
	}
	dec := json.NewDecoder(strings.NewReader(blocks[0]))
	dec.DisallowUnknownFields()
	var sys result.System
	if err := dec.Decode(&sys); err != nil {
		t.Fatalf("the documented section is not a result.System: %v", err)
	}
	if len(sys.Timeline) != 1 || sys.Heap == nil || len(sys.Profiles) != 3 {
		t.Errorf("decoded %+v", sys)
	}
}

// TestDocGoExample keeps the documented Go code equal to the body of
// ExampleStart, which the compiler checks.
func TestDocGoExample(t *testing.T) {
	blocks := codeBlocks(readDoc(t), "go")
	if len(blocks) != 1 {
		t.Fatalf("%d go blocks, want the one example", len(blocks))
	}
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	const open = "func ExampleStart() {\n"
	body := string(src)[bytes.Index(src, []byte(open))+len(open):]
	body = body[:strings.Index(body, "\n}\n")+1]
	var want strings.Builder
	for _, line := range strings.SplitAfter(body, "\n") {
		want.WriteString(strings.TrimPrefix(line, "\t"))
	}
	if blocks[0] != want.String() {
		t.Errorf("docs/watch.md's Go example differs from ExampleStart; it should read:\n%s", want.String())
	}
}
