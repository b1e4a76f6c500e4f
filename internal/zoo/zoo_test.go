package zoo_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/zoo"
	"github.com/stampede-perf/stampede/plan"
)

// TestServicesDeclareTheirTruth checks each service's ground truth and
// plan: a fault names at least one kind and (unless it says why not) an
// own function that exists in the zoo's source; a healthy one names
// neither; every plan is a valid stampede plan once filled in, watches the
// process, Prometheus and pprof, and points at the service.
func TestServicesDeclareTheirTruth(t *testing.T) {
	var src strings.Builder
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	healthy := 0
	seen := map[string]bool{}
	for _, s := range zoo.Services() {
		if seen[s.Name] {
			t.Errorf("two services are called %s", s.Name)
		}
		seen[s.Name] = true
		if s.About == "" {
			t.Errorf("%s: says nothing about itself", s.Name)
		}
		switch tr := s.Truth; {
		case tr.Healthy:
			healthy++
			if len(tr.Kinds) > 0 || tr.Function != "" {
				t.Errorf("%s: healthy, yet expects %v %q", s.Name, tr.Kinds, tr.Function)
			}
		case len(tr.Kinds) == 0:
			t.Errorf("%s: a fault with no expected kind", s.Name)
		case tr.Function == "" && tr.Note == "":
			t.Errorf("%s: names no function and does not say why", s.Name)
		case tr.Function != "":
			decl := regexp.MustCompile(`(?m)^func (\([^)]*\) )?` + regexp.QuoteMeta(tr.Function) + `\(`)
			if !decl.MatchString(src.String()) {
				t.Errorf("%s: expects function %s, which the zoo does not declare", s.Name, tr.Function)
			}
		}
		doc, err := s.Plan(zoo.PlanParams{URL: "http://127.0.0.1:1", PID: 4242, Hold: 7 * time.Second})
		if err != nil {
			t.Errorf("%s: %v", s.Name, err)
			continue
		}
		if strings.Contains(string(doc), "$ZOO_") {
			t.Errorf("%s: the plan keeps a placeholder after filling in", s.Name)
		}
		p, err := plan.Parse(s.Name+".yaml", doc)
		if err != nil {
			t.Errorf("%s: the plan is invalid: %v", s.Name, err)
			continue
		}
		if p.Target.BaseURL != "http://127.0.0.1:1" {
			t.Errorf("%s: the plan targets %s", s.Name, p.Target.BaseURL)
		}
		sys := p.System
		if sys == nil || sys.Process == nil || sys.Process.PID != 4242 || sys.Prometheus == nil || sys.Pprof == "" {
			t.Errorf("%s: the plan does not watch the process, Prometheus and pprof: %+v", s.Name, sys)
		}
	}
	if healthy < 5 {
		t.Errorf("%d healthy services; the false-alarm rate needs at least 5", healthy)
	}
}

// TestServicesServe starts every service in a child process and checks
// that it serves its metrics, with the runtime/metrics series the leak
// and GC analyses read, and its profiles.
func TestServicesServe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every service in a child process; skipped with -short")
	}
	for _, name := range zoo.Names() {
		t.Run(name, func(t *testing.T) {
			// Each waits on its child's start, most of a second under the
			// race detector: all start at once.
			t.Parallel()
			p := startService(t, name)
			metrics := get(t, p.URL+"/metrics")
			for _, series := range []string{"go_gc_heap_live_bytes", "go_gc_cycles_total_gc_cycles_total", "go_memstats_heap_inuse_bytes", "process_cpu_seconds_total", "go_goroutines"} {
				if !strings.Contains(metrics, "\n"+series+" ") {
					t.Errorf("/metrics has no %s", series)
				}
			}
			if idx := get(t, p.URL+"/debug/pprof/"); !strings.Contains(idx, "mutex") {
				t.Errorf("/debug/pprof/ does not list the mutex profile")
			}
		})
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}
