package store

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
)

func TestDefaultDSN(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		why    string
		plan   string
		getenv func(string) string
		want   string
	}{
		{"next to the plan", "plans/shop.yaml", env(), filepath.Join("plans", ".stampede", "history.db")},
		{"ad-hoc run: current directory", "", env(), filepath.Join(".stampede", "history.db")},
		{"environment wins", "plans/shop.yaml", env(EnvStore, "postgres://db/h"), "postgres://db/h"},
		{"blank environment ignored", "shop.yaml", env(EnvStore, "  "), filepath.Join(".stampede", "history.db")},
		{"no environment at all", "a/b.yaml", nil, filepath.Join("a", ".stampede", "history.db")},
	} {
		if got := DefaultDSN(tc.plan, tc.getenv); got != tc.want {
			t.Errorf("%s: DefaultDSN(%q) = %q, want %q", tc.why, tc.plan, got, tc.want)
		}
	}
}

func TestOpenRejectsBadLocations(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ why, dsn string }{
		{"empty", ""},
		{"unsupported URL scheme", "mysql://u@h/db"},
		{"SQLite URI, not a path", "file:history.db?mode=memory"},
		{"in-memory database would vanish", ":memory:"},
		{"query string in a path", filepath.Join(dir, "h.db?x=1")},
		{"a directory", dir},
		{"malformed PostgreSQL URL", "postgres://u@h:notaport/db"},
	} {
		_, err := Open(context.Background(), tc.dsn)
		if !errors.Is(err, ErrInvalidDSN) {
			t.Errorf("%s: Open(%q) = %v, want ErrInvalidDSN", tc.why, tc.dsn, err)
		}
	}
}

func TestOpenHidesPassword(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:s3cret@h:notaport/db")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v reveals the password", err)
	}
}

func TestIsPostgres(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://h/db": true, "postgresql://h/db": true, "POSTGRES://h/db": true,
		"history.db": false, "./postgres/history.db": false, "": false,
	} {
		if got := IsPostgres(dsn); got != want {
			t.Errorf("IsPostgres(%q) = %v", dsn, got)
		}
	}
}

func TestMigrationsWellFormed(t *testing.T) {
	for _, d := range []string{SQLite, Postgres} {
		ms, err := migrations(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 3 {
			t.Errorf("%s: %d migrations, want 3", d, len(ms))
		}
		for _, m := range ms {
			if len(m.statements) == 0 {
				t.Errorf("%s migration %d is empty", d, m.version)
			}
		}
	}
	sq, _ := migrations(SQLite)
	pg, _ := migrations(Postgres)
	for i := range sq {
		if len(sq[i].statements) != len(pg[i].statements) {
			t.Errorf("migration %d: %d SQLite statements, %d PostgreSQL: the dialects drifted", i+1, len(sq[i].statements), len(pg[i].statements))
		}
	}
}

func TestSplitSQL(t *testing.T) {
	got := splitSQL("-- comment\nCREATE TABLE a (\n  x INT -- trailing\n);\n\nALTER TABLE a ADD COLUMN y INT;\nSELECT 1")
	want := []string{"CREATE TABLE a (\n  x INT -- trailing\n)", "ALTER TABLE a ADD COLUMN y INT", "SELECT 1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("splitSQL = %q, want %q", got, want)
	}
}

func TestBuildPartial(t *testing.T) {
	skel := &result.Run{Version: 1, Kind: "load", Plan: "p", StartedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Steps: testSteps}
	for _, tc := range []struct {
		why string
		n   int
	}{
		{"one window", 1},
		{"several windows with errors", 5},
	} {
		var ws []result.Window
		for i := 0; i < tc.n; i++ {
			ws = append(ws, syntheticWindow(i))
		}
		r := buildPartial(skel, ws)
		t.Run(tc.why, func(t *testing.T) { checkRebuilt(t, r, tc.n) })
		if !r.EndedAt.Equal(skel.StartedAt.Add(time.Duration(tc.n) * time.Second)) {
			t.Errorf("%s: ended at %v", tc.why, r.EndedAt)
		}
		if r.Aborted {
			t.Errorf("%s: buildPartial must leave Aborted to the caller", tc.why)
		}
	}

	t.Run("no windows", func(t *testing.T) {
		r := buildPartial(skel, nil)
		if r.Summary.Requests != 0 || r.Summary.RPS != 0 || len(r.Series) != 0 {
			t.Fatalf("empty rebuild: %+v", r.Summary)
		}
	})
	t.Run("windows without histograms", func(t *testing.T) {
		w := syntheticWindow(0)
		w.Hist, w.Steps = "", nil
		r := buildPartial(skel, []result.Window{w})
		if r.Summary.Latency.P99 != 0 || len(r.Warnings) == 0 {
			t.Fatalf("want no percentiles and a warning, got %+v %v", r.Summary.Latency, r.Warnings)
		}
	})
	t.Run("corrupt histogram", func(t *testing.T) {
		w := syntheticWindow(0)
		w.Hist = "not-a-histogram"
		r := buildPartial(skel, []result.Window{w})
		if len(r.Warnings) == 0 || r.Summary.Requests != w.Requests {
			t.Fatalf("want counts kept and a warning, got %+v %v", r.Summary, r.Warnings)
		}
	})
	t.Run("windows outside the run", func(t *testing.T) {
		early, late := syntheticWindow(0), syntheticWindow(1)
		early.TS, late.TS = -5, 1e300
		r := buildPartial(skel, []result.Window{early, syntheticWindow(1), late})
		if len(r.Series) != 1 || r.Summary.Requests != late.Requests || !r.EndedAt.Equal(skel.StartedAt.Add(2*time.Second)) {
			t.Fatalf("want the one window inside the run, got %d windows, %d requests, ended at %v", len(r.Series), r.Summary.Requests, r.EndedAt)
		}
		if len(r.Warnings) != 2 || !strings.Contains(r.Warnings[0], "at -5s lies outside the run") || !strings.Contains(r.Warnings[1], "at 1e+300s") {
			t.Fatalf("warnings %q", r.Warnings)
		}
	})
	t.Run("step unknown to Begin", func(t *testing.T) {
		r := buildPartial(&result.Run{Version: 1, Kind: "load"}, []result.Window{syntheticWindow(0)})
		if len(r.Steps) != 2 || r.Steps[1].Step != "step 1" || r.Steps[1].Requests != 20 {
			t.Fatalf("steps = %+v", r.Steps)
		}
	})
}

func TestCPUModel(t *testing.T) {
	for _, tc := range []struct{ why, cpuinfo, want string }{
		{"x86", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 85\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.00GHz\n\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.00GHz\n", "Intel(R) Xeon(R) CPU @ 2.00GHz"},
		{"Raspberry Pi", "processor\t: 0\nBogoMIPS\t: 108.00\nCPU part\t: 0xd08\n\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n", "Raspberry Pi 4 Model B Rev 1.4"},
		{"ARM server without a model", "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n", ""},
		{"old ARM kernel", "Processor\t: ARMv7 Processor rev 4 (v7l)\nprocessor\t: 0\n", "ARMv7 Processor rev 4 (v7l)"},
		{"MIPS", "system type\t\t: MT7621\ncpu model\t\t: MIPS 1004Kc V2.15\n", "MIPS 1004Kc V2.15"},
		{"empty", "", ""},
	} {
		if got := cpuModel(strings.NewReader(tc.cpuinfo)); got != tc.want {
			t.Errorf("%s: cpuModel = %q, want %q", tc.why, got, tc.want)
		}
	}
}

func TestParseStatStart(t *testing.T) {
	fields := " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 123456 20 21"
	for _, tc := range []struct {
		why, stat string
		want      int64
	}{
		{"plain name", "42 (stampede)" + fields, 123456},
		{"name with spaces and parentheses", "42 (a) b (c)" + fields, 123456},
		{"truncated", "42 (x) S 1 2", 0},
		{"garbage", "", 0},
	} {
		if got := parseStatStart(tc.stat); got != tc.want {
			t.Errorf("%s: parseStatStart = %d, want %d", tc.why, got, tc.want)
		}
	}
}

func TestAlive(t *testing.T) {
	self := os.Getpid()
	if running, known := alive(self, processStart(self)); known && !running {
		t.Fatal("this process is reported dead")
	}
	if start := processStart(self); start != 0 {
		if running, _ := alive(self, start+1); running {
			t.Error("a pid with another start time must count as reused, not alive")
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	// Linux hands out pids in sequence, so the finished child's pid is not
	// reused within this test.
	if running, known := alive(cmd.Process.Pid, 0); known && running {
		t.Errorf("finished child %d reported alive", cmd.Process.Pid)
	}
}

func TestFacts(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	ctx := context.Background()
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com",
			"-c", "commit.gpgsign=false", "-c", "init.defaultBranch=trunk"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}

	host, g := Facts(ctx, dir)
	if host == nil || host.OS == "" || host.Cores < 1 || host.GOMAXPROCS < 1 || !strings.HasPrefix(host.GoVersion, "go") {
		t.Fatalf("host facts = %+v", host)
	}
	if g != nil {
		t.Fatalf("not a repository, yet git = %+v", g)
	}

	git("init", "-q")
	plan := filepath.Join(dir, "plan.yaml")
	os.WriteFile(plan, []byte("name: x\n"), 0o644)
	git("add", "plan.yaml")
	git("commit", "-q", "-m", "first")
	_, g = Facts(ctx, dir)
	if g == nil || len(g.Commit) < 40 || g.Branch != "trunk" || g.Dirty {
		t.Fatalf("clean repository: %+v", g)
	}
	os.WriteFile(plan, []byte("name: y\n"), 0o644)
	if _, g = Facts(ctx, dir); g == nil || !g.Dirty {
		t.Fatalf("modified tracked file, want dirty: %+v", g)
	}
	git("checkout", "-q", "--detach")
	if _, g = Facts(ctx, dir); g == nil || g.Branch != "" {
		t.Fatalf("detached HEAD, want no branch: %+v", g)
	}
}
