package proto

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/plan"
)

// Files an HTTP step or target.tls reads are opened when the plan is
// compiled; a problem is one line naming the file, line and field.
func TestCompileHTTPFileProblems(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.pem"), []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := `name: files
target:
  base_url: https://127.0.0.1:1
  tls: { ca_file: bad.pem }
load: { vus: 1, duration: 1s }
scenarios:
  - name: s
    steps:
      - { path: /a, body_file: missing.bin }
      - path: /b
        multipart: { files: { photo: { path: nope.png } } }
      - { path: /c, auth: { bearer: "{{ unknown" } }
`
	file := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := plan.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Compile(p, Options{Getenv: func(string) string { return "" }})
	if err == nil {
		t.Fatal("compiled a plan whose files are missing")
	}
	want := []string{
		file + ":4:19: target.tls.ca_file: " + filepath.Join(dir, "bad.pem") + " holds no PEM certificate",
		file + ":9:32: scenarios[0].steps[0].body_file: cannot read " + filepath.Join(dir, "missing.bin") + ": no such file or directory",
		file + ":11:46: scenarios[0].steps[1].multipart.files.photo.path: cannot read " + filepath.Join(dir, "nope.png") + ": no such file or directory",
		file + ":12:37: scenarios[0].steps[2].auth.bearer: ",
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d:\n got %s\nwant %s…", i, lines[i], w)
		}
	}
}
