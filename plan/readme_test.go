package plan

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// Every complete plan shown in README.md (a YAML block with scenarios)
// decodes and validates: the documentation cannot drift from the schema.
func TestREADMEPlans(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1)
	n := 0
	const minimal = "name: x\ntarget: { base_url: \"http://127.0.0.1:8080\" }\nscenarios: [{ name: s, steps: [{ path: / }] }]\n"
	for i, m := range blocks {
		if strings.HasPrefix(m[1], "tests:") || strings.HasPrefix(m[1], "monitor:") || strings.HasPrefix(m[1], "distributed:") { // a protocol, monitor or distributed snippet: check it inside a plan
			doc := minimal + m[1]
			if strings.HasPrefix(m[1], "distributed:") {
				doc += "load: { vus: 1, duration: 1s }\n"
			}
			if _, err := Parse("README.md snippet", []byte(doc)); err != nil {
				t.Errorf("README snippet %d does not validate:\n%v", i, err)
			}
			continue
		}
		if !strings.Contains(m[1], "scenarios:") {
			continue
		}
		n++
		if _, err := Parse("README.md block "+string(rune('0'+i)), []byte(m[1])); err != nil {
			t.Errorf("README plan %d does not validate:\n%v\n%s", i, err, m[1])
		}
	}
	if n < 3 {
		t.Fatalf("found %d complete plans in README.md, want the plan reference, watch and database examples", n)
	}
}
