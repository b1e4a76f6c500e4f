package suite

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/plan"
)

// TestScalabilityAgainstLocalProcesses runs the scalability phase for real:
// the apply command starts a CPU-bound server as a separate process with
// 1, then 2 cores (GOMAXPROCS, and taskset where it exists), the load
// scales with the cores, and the revert command stops the server.
func TestScalabilityAgainstLocalProcesses(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds a server and loads it for about 5 s")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "cpuserver")
	build := exec.Command("go", "build", "-o", bin, "./testdata/cpuserver")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the test server: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	pidFile, ready, logFile := filepath.Join(dir, "pid"), filepath.Join(dir, "ready"), filepath.Join(dir, "log")
	pin := ""
	if _, err := exec.LookPath("taskset"); err == nil {
		pin = "taskset -c {{ cpus }} "
	}
	stop := fmt.Sprintf(`if [ -f %[1]s ]; then kill $(cat %[1]s) 2>/dev/null; while kill -0 $(cat %[1]s) 2>/dev/null; do sleep 0.05; done; rm -f %[1]s; fi`, pidFile)
	// The apply command returns once the new server listens (it writes
	// the ready file), so no stabilisation guess is needed.
	apply := fmt.Sprintf(`%[1]s; rm -f %[2]s; GOMAXPROCS={{ cores }} %[3]s%[4]s -addr %[5]s -ready %[2]s & echo $! > %[6]s; `+
		`i=0; while [ ! -s %[2]s ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; cat %[2]s >> %[7]s`,
		stop, ready, pin, bin, addr, pidFile, logFile)
	revert := fmt.Sprintf(`%s; echo reverted >> %s`, stop, logFile)
	t.Cleanup(func() { exec.Command("sh", "-c", stop).Run() })

	p := testPlan("http://"+addr, &plan.Tests{Scalability: &plan.ScalabilitySpec{
		Apply: apply, Revert: revert, Unit: "cores",
		Configs:      []map[string]string{{"cores": "1", "cpus": "0"}, {"cores": "2", "cpus": "0-1"}},
		UsersPerUnit: 4, Duration: plan.Duration(2 * time.Second), Stabilize: plan.Duration(time.Millisecond),
	}})
	p.Scenarios[0].Steps[0].Path = "/work"
	run, err := Test(context.Background(), p, Options{Only: []string{"scalability"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Phases) != 1 || !run.Phases[0].Pass {
		t.Fatalf("phases: %+v", run.Phases)
	}
	sc := run.Scalability
	if sc == nil || len(sc.Configs) != 2 || sc.Unit != "cores" {
		t.Fatalf("scalability: %+v", sc)
	}
	for i, c := range sc.Configs {
		t.Logf("%s: %.0f req/s, p99 %.2f ms, efficiency %.2f", c.Name, c.RPS, c.P99, sc.Efficiency[i])
		if c.N != float64(i+1) || c.RPS <= 0 || c.ErrorRate > 0 {
			t.Errorf("config %d: %+v", i, c)
		}
	}
	if sc.USL == nil || sc.Efficiency[0] != 1 || !scaleWarned(sc.Warnings, "κ = 0") {
		t.Errorf("two configurations: USL %+v efficiency %v warnings %q", sc.USL, sc.Efficiency, sc.Warnings)
	}
	t.Logf("linearity R² %.3f, USL λ %.0f σ %.3f; phase: %s", sc.LinearityR2, sc.USL.Lambda, sc.USL.Sigma, run.Phases[0].Note)
	// Each configuration was applied with its own values, then reverted.
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(b)); strings.Join(got, " ") != "procs=1 procs=2 reverted" {
		t.Errorf("apply/revert log: %q", got)
	}
	if _, err := os.Stat(pidFile); err == nil {
		t.Error("the server's pid file is still there: revert did not stop it")
	}
	// The windows of both configurations are in the phase, on one clock.
	if ph := run.Phases[0]; ph.Summary.Requests == 0 || len(ph.Series) < 4 {
		t.Errorf("phase summary %d requests, %d windows", ph.Summary.Requests, len(ph.Series))
	}
}

// TestScalabilityApplyFailureStillReverts: a failing apply fails the phase
// and the revert command still runs.
func TestScalabilityApplyFailureStillReverts(t *testing.T) {
	var ran []string
	p := testPlan("http://127.0.0.1:1", &plan.Tests{Scalability: &plan.ScalabilitySpec{
		Apply: "scale {{ n }}", Revert: "unscale", Unit: "n",
		Configs: []map[string]string{{"n": "1"}, {"n": "2"}}, Duration: plan.Duration(time.Second),
	}})
	run, err := Test(context.Background(), p, Options{Only: []string{"scalability"}, Exec: func(_ context.Context, line string) error {
		ran = append(ran, line)
		if line == "scale 1" {
			return syscall.ECONNREFUSED
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ran, "|") != "scale 1|unscale" {
		t.Errorf("commands run: %q", ran)
	}
	if len(run.Phases) != 1 || run.Phases[0].Pass || !strings.Contains(run.Phases[0].Note, "apply failed") || run.Verdict != "fail" {
		t.Errorf("phase: %+v", run.Phases)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func scaleWarned(ws []string, part string) bool {
	for _, w := range ws {
		if strings.Contains(w, part) {
			return true
		}
	}
	return false
}
