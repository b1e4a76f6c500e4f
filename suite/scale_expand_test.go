package suite

import (
	"os/exec"
	"strings"
	"testing"
)

// TestExpandQuotesValues: a configuration's values land in the apply
// command as literal text, wherever the placeholder is (bare, in single
// or double quotes), as the shell reads it.
func TestExpandQuotesValues(t *testing.T) {
	cfg := map[string]string{"instances": "3", "name": `a b; echo pwned $HOME 'q' "d"`}
	for _, tmpl := range []string{
		`printf '%s|' {{ instances }} {{ name }}`,
		`printf '%s|' {{instances}} '{{ name }}'`,
		`printf '%s|' "{{ instances }}" "x{{ name }}y"`,
	} {
		line, err := expand(tmpl, cfg)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("sh", "-c", line).Output()
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "|"), "|")
		name := cfg["name"]
		if strings.Contains(tmpl, "x{{") {
			name = "x" + name + "y"
		}
		if len(got) != 2 || got[0] != "3" || got[1] != name {
			t.Errorf("%s\n  ran %s\n  gave %q", tmpl, line, got)
		}
	}
	if _, err := expand("scale {{ replicas }}", cfg); err == nil || !strings.Contains(err.Error(), "{{ replicas }}") {
		t.Errorf("missing value: %v", err)
	}
}
