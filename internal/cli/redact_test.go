package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A --store or STAMPEDE_STORE location never has its password printed, and
// a libpq keyword/value string is PostgreSQL, not a SQLite file named after
// the password.
func TestStorePasswordsNeverPrinted(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, dsn := range []string{
		"postgres://u@127.0.0.1:1/db?sslmode=disable&password=s3cret&connect_timeout=1",
		"postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=1",
		"mysql://u:s3cret@127.0.0.1/db",
		"sqlite://u:s3cret@/tmp/history.db",
		"host=127.0.0.1 port=1 user=u password=s3cret dbname=db connect_timeout=1",
	} {
		for _, args := range [][]string{{"history", "--store", dsn}, {"history"}} {
			res := storeCLI(t, dsn, args...)
			if res.code != ExitInvalid || strings.Contains(res.stderr+res.stdout, "s3cret") {
				t.Errorf("%v (STAMPEDE_STORE set): exit %d, output shows the password or is not an error:\n%s%s", args[:1], res.code, res.stdout, res.stderr)
			}
		}
	}
	ents, _ := os.ReadDir(".")
	for _, e := range ents {
		t.Errorf("%s was created: a connection string was taken for a file", e.Name())
	}
}

// A malformed --header is named in the error without its credential.
func TestMalformedHeaderNotPrinted(t *testing.T) {
	for _, h := range []string{"Authorization Bearer s3cret", "X-Api-Key=s3cret", "tokens3cret", "", "   "} {
		res := runCLI(t, t.Context(), "run", "--url", "http://127.0.0.1:1/", "-H", h, "--no-store")
		if res.code != ExitInvalid || strings.Contains(res.stderr, "s3cret") || !strings.Contains(res.stderr, "--header") || strings.Contains(res.stderr, "panic") {
			t.Errorf("-H %q: exit %d, stderr %q", h, res.code, res.stderr)
		}
	}
}

// TestErrorExamplesMaskSecrets: an error example quotes the request it
// came from; the secrets in its URL are masked in the Run and the output.
func TestErrorExamplesMaskSecrets(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run.json")
	// Port 1 on loopback refuses: every request fails with an example.
	res := runCLI(t, context.Background(), "run", "--url", "http://127.0.0.1:1/orders?api_key=s3cr3tk3y&page=2",
		"--vus", "1", "--duration", "300ms", "--no-default-slo", "--out", "json="+out)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, res.stderr)
	}
	if !strings.Contains(string(data), `"example"`) || !strings.Contains(string(data), "page=2") {
		t.Fatalf("no example quoting the request in the Run:\n%s", data)
	}
	for where, text := range map[string]string{"run.json": string(data), "stdout": res.stdout, "stderr": res.stderr} {
		if strings.Contains(text, "s3cr3tk3y") {
			t.Errorf("%s shows the API key", where)
		}
	}
}
