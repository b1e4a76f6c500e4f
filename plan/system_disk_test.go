package plan

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// system.disk is relative to the plan file, and a path too long is a
// problem naming the line and the field.
func TestSystemDisk(t *testing.T) {
	doc := func(disk string) []byte {
		return []byte("name: d\ntarget: { base_url: \"http://127.0.0.1:1\" }\nscenarios: [{ name: s, steps: [{ path: \"/\" }] }]\nload: { vus: 1, duration: 1s }\nsystem:\n  process: { pid: 1 }\n  disk: \"" + disk + "\"\n")
	}
	dir := t.TempDir()
	p, err := Parse(filepath.Join(dir, "p.yaml"), doc("data"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "data"); p.System.Disk != want {
		t.Errorf("system.disk %q, want %q", p.System.Disk, want)
	}
	p, err = Parse(filepath.Join(dir, "p.yaml"), doc("/var/lib/db"))
	if err != nil || p.System.Disk != "/var/lib/db" {
		t.Errorf("absolute: %v, %v", p, err)
	}
	_, err = Parse("p.yaml", doc("/"+strings.Repeat("a", MaxPathBytes)))
	var ve *ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "p.yaml:7") || !strings.Contains(err.Error(), "system.disk") || !strings.Contains(err.Error(), "at most 4096 bytes") {
		t.Errorf("a long path: %v", err)
	}
}
