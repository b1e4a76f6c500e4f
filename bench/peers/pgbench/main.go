// Command pgbench compares stampede with pgbench on pgbench's own
// workload: it starts a throwaway PostgreSQL on loopback, initializes the
// TPC-B-like schema (pgbench -i -s 1), then runs, in alternating rounds,
// pgbench's built-in script and the same transaction written as a
// stampede plan — the same five statements in one transaction, with
// random aid, tid, bid and delta drawn as pgbench draws them — at the same
// client count, and prints transactions per second, mean latency and the
// client's CPU time side by side. It exits 1 when stampede reaches less
// than -min-ratio of pgbench's rate.
//
// Both tools meet the same server with the same tables: before every run
// the history table is emptied and the tables vacuumed, as pgbench does
// itself (it is run with -n so it does not do it twice). pgbench uses
// prepared statements (-M prepared), as stampede does by default for
// PostgreSQL. Every load is bounded and loopback-only; the cluster is
// deleted at the end (internal/pgtest starts it, as for the tests).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stampede-perf/stampede/internal/pgtest"
)

// measure is one run of one tool.
type measure struct {
	tps    float64
	latMS  float64
	cpuS   float64
	failed int64
}

func main() {
	stampede := flag.String("stampede", "stampede", "stampede binary")
	pgbench := flag.String("pgbench", "pgbench", "pgbench binary")
	binDir := flag.String("pg-bin", "", "directory of initdb and postgres (default: $STAMPEDE_PG_BINDIR, the newest /usr/lib/postgresql/*/bin, pg_config's)")
	clients := flag.Int("clients", 8, "clients (pgbench -c) and VUs (stampede --vus, pool size)")
	jobs := flag.Int("jobs", 2, "pgbench threads (-j)")
	dur := flag.Duration("duration", 10*time.Second, "length of each run")
	rounds := flag.Int("rounds", 3, "rounds of each tool, alternating (the median is reported)")
	mode := flag.String("mode", "prepared", "pgbench query mode (-M): prepared, extended or simple")
	minRatio := flag.Float64("min-ratio", 0.8, "fail when stampede's rate is below this share of pgbench's")
	keep := flag.Bool("keep", false, "keep the plan and stampede's raw outputs")
	flag.Parse()

	dir, err := os.MkdirTemp("", "stampede-pgbench-")
	check(err)
	c, err := pgtest.Launch(*binDir, pgtest.WithSetting("max_connections", "200"), pgtest.WithSetting("shared_buffers", "128MB"))
	if err != nil {
		os.RemoveAll(dir)
		fail(err.Error() + " (install postgresql or give -pg-bin)")
	}
	defer func() {
		c.Close()
		if *keep {
			fmt.Printf("kept %s\n", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()
	dsn := c.URL
	fmt.Printf("PostgreSQL at %s (fsync off: the client is what is measured)\n", dsn)
	out, err := exec.Command(*pgbench, "-i", "-s", "1", "-q", dsn).CombinedOutput()
	if err != nil {
		c.Close()
		fail(fmt.Sprintf("pgbench -i: %v\n%s", err, out))
	}
	planFile := filepath.Join(dir, "tpcb.yaml")
	check(os.WriteFile(planFile, []byte(plan(*clients, *dur)), 0o644))

	var pg, st []measure
	for r := 1; r <= *rounds; r++ {
		check(reset(dsn))
		m, err := runPgbench(*pgbench, dsn, *clients, *jobs, *dur, *mode)
		check(err)
		pg = append(pg, m)
		fmt.Printf("round %d  pgbench  %8.0f tx/s\n", r, m.tps)
		check(reset(dsn))
		m, err = runStampede(*stampede, planFile, dsn, dir, r)
		check(err)
		st = append(st, m)
		fmt.Printf("round %d  stampede %8.0f tx/s\n", r, m.tps)
	}
	p, s := median(pg), median(st)
	ratio := s.tps / p.tps
	fmt.Printf("\nTPC-B-like transaction, scale 1, %d clients, %s × %d rounds (median)\n", *clients, *dur, *rounds)
	fmt.Printf("%-10s %12s %14s %16s %8s\n", "tool", "tx/s", "latency ms", "client CPU s", "failed")
	fmt.Printf("%-10s %12.0f %14.3f %16.2f %8d\n", "pgbench", p.tps, p.latMS, p.cpuS, p.failed)
	fmt.Printf("%-10s %12.0f %14.3f %16.2f %8d\n", "stampede", s.tps, s.latMS, s.cpuS, s.failed)
	fmt.Printf("stampede / pgbench: %.2f (minimum %.2f)\n", ratio, *minRatio)
	if ratio < *minRatio {
		c.Close()
		if !*keep {
			os.RemoveAll(dir)
		}
		os.Exit(1)
	}
}

// plan is pgbench's tpcb-like script as a stampede plan: the same
// statements in one transaction, the same random draws (scale 1: 100000
// accounts, 10 tellers, 1 branch).
func plan(clients int, dur time.Duration) string {
	return fmt.Sprintf(`name: pgbench tpcb-like
databases:
  bench: { dsn: "${PGBENCH_DSN}", pool: %d }
scenarios:
  - name: tpcb-like
    steps:
      - name: transaction
        sql:
          vars:
            aid: "{{ random_int(1, 100000) }}"
            bid: "{{ random_int(1, 1) }}"
            tid: "{{ random_int(1, 10) }}"
            delta: "{{ random_int(-5000, 5000) }}"
          tx:
            - UPDATE pgbench_accounts SET abalance = abalance + {{ delta }} WHERE aid = {{ aid }}
            - SELECT abalance FROM pgbench_accounts WHERE aid = {{ aid }}
            - UPDATE pgbench_tellers SET tbalance = tbalance + {{ delta }} WHERE tid = {{ tid }}
            - UPDATE pgbench_branches SET bbalance = bbalance + {{ delta }} WHERE bid = {{ bid }}
            - INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ({{ tid }}, {{ bid }}, {{ aid }}, {{ delta }}, CURRENT_TIMESTAMP)
load: { vus: %d, duration: %s }
`, clients, clients, dur)
}

// reset does what pgbench does before a run: empty the history and
// vacuum the tables, so that every run starts from the same state.
func reset(dsn string) error {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for _, q := range []string{"TRUNCATE pgbench_history", "VACUUM pgbench_branches", "VACUUM pgbench_tellers", "VACUUM pgbench_accounts", "CHECKPOINT"} {
		if _, err := c.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

var (
	tpsRE = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)
	latRE = regexp.MustCompile(`latency average = ([0-9.]+) ms`)
	badRE = regexp.MustCompile(`number of failed transactions: ([0-9]+)`)
)

func runPgbench(bin, dsn string, clients, jobs int, dur time.Duration, mode string) (measure, error) {
	cmd := exec.Command(bin, "-n", "-M", mode, "-c", strconv.Itoa(clients), "-j", strconv.Itoa(min(jobs, clients)),
		"-T", strconv.Itoa(int(dur.Seconds())), dsn)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return measure{}, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m := measure{cpuS: cpuOf(cmd)}
	mt := tpsRE.FindSubmatch(out)
	if mt == nil {
		return measure{}, fmt.Errorf("pgbench printed no tps:\n%s", out)
	}
	m.tps, _ = strconv.ParseFloat(string(mt[1]), 64)
	if ml := latRE.FindSubmatch(out); ml != nil {
		m.latMS, _ = strconv.ParseFloat(string(ml[1]), 64)
	}
	if mb := badRE.FindSubmatch(out); mb != nil {
		m.failed, _ = strconv.ParseInt(string(mb[1]), 10, 64)
	}
	return m, nil
}

func runStampede(bin, planFile, dsn, dir string, round int) (measure, error) {
	out := filepath.Join(dir, fmt.Sprintf("stampede.%d.json", round))
	cmd := exec.Command(bin, "run", planFile, "-q", "--out", "json="+out)
	cmd.Dir = dir // its run history goes there, not into the caller's directory
	cmd.Env = append(os.Environ(), "PGBENCH_DSN="+dsn)
	text, err := cmd.CombinedOutput()
	if err != nil {
		return measure{}, fmt.Errorf("stampede: %v\n%s", err, text)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return measure{}, err
	}
	var run struct {
		Summary struct {
			Requests  int64   `json:"requests"`
			Errors    int64   `json:"errors"`
			DurationS float64 `json:"duration_s"`
			Latency   struct {
				Mean float64 `json:"mean"`
			} `json:"latency_ms"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(data, &run); err != nil {
		return measure{}, err
	}
	s := run.Summary
	if s.DurationS <= 0 {
		return measure{}, fmt.Errorf("stampede run of no duration:\n%s", text)
	}
	return measure{tps: float64(s.Requests-s.Errors) / s.DurationS, latMS: s.Latency.Mean, cpuS: cpuOf(cmd), failed: s.Errors}, nil
}

func cpuOf(cmd *exec.Cmd) float64 {
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func median(ms []measure) measure {
	s := slices.Clone(ms)
	slices.SortFunc(s, func(a, b measure) int {
		switch {
		case a.tps < b.tps:
			return -1
		case a.tps > b.tps:
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "pgbench comparison:", msg)
	os.Exit(2)
}
