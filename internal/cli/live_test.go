package cli

import (
	"context"
	encsv "encoding/csv"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A live output that cannot be opened is invalid input, said before
// anything runs, naming the output and what is wrong.
func TestLiveOutputsRefused(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	for _, c := range []struct {
		spec, want string
	}{
		{"csv=" + filepath.Join(dir, "missing", "x.csv"), "does not exist"},
		{"csv=-", "standard output"},
		{"prometheus=9464", "HOST:PORT"},
		{"prometheus=" + taken.Addr().String(), "address already in use"},
		{"otlp=127.0.0.1:4318", "http://"},
		{"influxdb=http://x", "use json, csv, prometheus or otlp"},
	} {
		r := runCLI(t, context.Background(), "run", "--url", "http://127.0.0.1:1/", "--vus", "1", "--duration", "1s", "--no-store", "-q", "--out", c.spec)
		if r.code != ExitInvalid || !strings.Contains(r.stderr, c.want) {
			t.Errorf("--out %s: exit %d, %q; want 2 and %q", c.spec, r.code, r.stderr, c.want)
		}
	}
	r := runCLI(t, context.Background(), "merge", "x.json", "--out", "csv="+filepath.Join(dir, "m.csv"))
	if r.code != ExitInvalid || !strings.Contains(r.stderr, "live outputs") {
		t.Errorf("merge --out csv: exit %d, %q", r.code, r.stderr)
	}
}

// `stampede run --out csv=…` writes a row per window per step, with the
// run's requests, beside the JSON.
func TestRunWritesCSVLive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()
	dir := t.TempDir()
	csvPath, jsonPath := filepath.Join(dir, "live.csv"), filepath.Join(dir, "run.json")
	r := runCLI(t, context.Background(), "run", "--url", srv.URL, "--rate", "50", "--duration", "2s", "--no-store", "-q",
		"--out", "csv="+csvPath, "--out", "json="+jsonPath)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	run, _ := readRun(t, jsonPath)
	rows := readCSV(t, csvPath)
	if len(rows) != 1+len(run.Series) {
		t.Fatalf("%d rows for %d windows of one step", len(rows)-1, len(run.Series))
	}
	var inWindows int64
	for _, w := range run.Series {
		inWindows += w.Requests
	}
	var sum int64
	for _, row := range rows[1:] {
		n, err := strconv.ParseInt(row[7], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += n
	}
	if sum != inWindows {
		t.Fatalf("the CSV counts %d requests, the run's windows %d", sum, inWindows)
	}
}

// A plan with `loads:` labels the live CSV's rows with each step's load
// and that load's tags, in the columns the plan's tags name.
func TestRunLiveCSVCarriesLoadTags(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()
	dir := t.TempDir()
	planPath, csvPath := filepath.Join(dir, "loads.yaml"), filepath.Join(dir, "live.csv")
	if err := os.WriteFile(planPath, []byte(`name: tagged
target: {base_url: "`+srv.URL+`"}
scenarios:
  - {name: browse, steps: [{name: home, path: /}]}
  - {name: api, steps: [{name: ping, path: /}]}
loads:
  people: {vus: 1, duration: 2s, scenarios: [browse], tags: {team: web}}
  robots: {rate: 20, duration: 2s, scenarios: [api], tags: {team: core, tier: "1"}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, context.Background(), "run", planPath, "--no-store", "-q", "--out", "csv="+csvPath)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	rows := readCSV(t, csvPath)
	head := rows[0]
	if got := strings.Join(head[len(head)-3:], ","); got != "load,tag_team,tag_tier" {
		t.Fatalf("the last columns are %s, want load,tag_team,tag_tier", got)
	}
	want := map[string]string{"browse": "people,web,", "api": "robots,core,1"}
	seen := map[string]bool{}
	for _, row := range rows[1:] {
		sc := row[3]
		seen[sc] = true
		if got := strings.Join(row[len(row)-3:], ","); got != want[sc] {
			t.Errorf("scenario %s: %s, want %s", sc, got, want[sc])
		}
	}
	if len(seen) != 2 {
		t.Errorf("rows of %v, want both scenarios", seen)
	}
}

// readCSV reads a CSV file with the standard decoder.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := encsv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
