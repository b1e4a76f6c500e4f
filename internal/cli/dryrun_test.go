package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// --dry-run compiles the plan, prints what would run, sends nothing and
// records nothing; a plan that cannot compile is refused with exit 2.
func TestRunDryRun(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "photo.png"), []byte("png"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name, doc string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good.yaml", `name: dry
target: { base_url: "`+srv.URL+`", cookies: false, redirects: 3 }
load: { vus: 5, duration: 1m, ramp_up: 10s }
scenarios:
  - name: upload
    steps:
      - { name: login, path: /login, form: { user: ann }, redirects: 0, parallel: true }
      - name: send photo
        path: /photos
        multipart: { files: { photo: { path: photo.png } } }
        auth: { basic: { username: ann, password: pw } }
`)
	r := runCLI(t, context.Background(), "run", "--dry-run", good)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"plan dry (" + good + ") is valid; nothing was sent (--dry-run)",
		"(HTTP/1.1, no cookies, redirects ≤ 3)",
		"level 1: VUs 5, ramp 10s, hold 1m0s",
		"1. http login: POST /login  (form of 1 field; redirects not followed; together with the next step)",
		"2. http send photo: POST /photos  (multipart of 0 fields and 1 file; basic auth)",
		"threshold error_rate < 1% (the default SLO",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("a dry run sent %d requests", n)
	}

	bad := write("bad.yaml", `name: dry
target: { base_url: "`+srv.URL+`" }
load: { vus: 5, duration: 1m }
scenarios:
  - name: upload
    steps:
      - { path: /a, body_file: missing.bin }
`)
	r = runCLI(t, context.Background(), "run", "--dry-run", bad)
	want := bad + ":7:32: scenarios[0].steps[0].body_file: cannot read " + filepath.Join(dir, "missing.bin") + ": no such file or directory"
	if r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, want)
	}

	// A load this host cannot hold is refused as the run would refuse it.
	huge := write("huge.yaml", `name: dry
target: { base_url: "`+srv.URL+`" }
load: { vus: 900000, duration: 1m }
scenarios: [{ name: s, steps: [{ path: / }] }]
`)
	r = runCLI(t, context.Background(), "run", "--dry-run", huge)
	if r.code != 2 || !strings.Contains(r.stderr, "exceeds what this process can hold") {
		t.Fatalf("exit %d, stderr %q; want 2 and the capacity refusal", r.code, r.stderr)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("a dry run sent %d requests", n)
	}
}
