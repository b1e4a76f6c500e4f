package store

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// Facts describes the machine this process runs on and the git state of
// dir (nil when dir is not inside a git work tree or git is not
// installed). They are stored with each run so that history can tell a
// slower commit from a slower machine.
func Facts(ctx context.Context, dir string) (*result.Host, *result.Git) {
	h := &result.Host{
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
	}
	h.Hostname, _ = os.Hostname()
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		h.CPUModel = cpuModel(f)
		f.Close()
	}
	return h, gitFacts(ctx, dir)
}

// cpuModel reads the processor's name from /proc/cpuinfo. x86 says
// "model name"; ARM boards say "Model" or "Hardware"; older ARM kernels
// "Processor"; MIPS "cpu model".
func cpuModel(r io.Reader) string {
	prefer := []string{"model name", "cpu model", "model", "hardware", "processor"}
	found := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		// x86 "processor : 0" is an index, not a name.
		if v == "" || (k == "processor" && isDigits(v)) {
			continue
		}
		if _, dup := found[k]; !dup {
			found[k] = v
		}
	}
	for _, k := range prefer {
		if v := found[k]; v != "" && !(k == "model" && isDigits(v)) {
			return v
		}
	}
	return ""
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// gitFacts asks git about the work tree holding dir.
func gitFacts(ctx context.Context, dir string) *result.Git {
	if dir == "" {
		dir = "."
	}
	run := func(args ...string) (string, bool) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			return "", false
		}
		return strings.TrimSpace(string(out)), true
	}
	commit, ok := run("rev-parse", "HEAD")
	if !ok || commit == "" {
		return nil
	}
	g := &result.Git{Commit: commit}
	if b, ok := run("rev-parse", "--abbrev-ref", "HEAD"); ok && b != "HEAD" {
		g.Branch = b // "HEAD" means detached: no branch
	}
	if st, ok := run("status", "--porcelain", "--untracked-files=no"); ok && st != "" {
		g.Dirty = true
	}
	return g
}
