package output_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// RequirePrometheus names the environment variable that turns a missing
// prometheus binary from a skip into a failure, so a CI job that means
// to run the real-server tests cannot pass without them.
const RequirePrometheus = "STAMPEDE_REQUIRE_PROMETHEUS"

// Job is the job name of the scrape config the test server runs.
const Job = "stampede"

// promServer is a real Prometheus server, run as a child process on a
// loopback port for one test, that scrapes one target every second.
type promServer struct {
	name   string // for messages: "native" or "classic"
	api    v1.API
	logs   string // its stderr, for a failure's message
	exited chan error
}

// prometheusBin returns the path of the prometheus binary, or skips the
// test (fails it when RequirePrometheus is set) when there is none.
func prometheusBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv(RequirePrometheus) != "" {
			t.Fatalf("%s is set but no prometheus is on PATH: install it (Debian: apt-get install prometheus)", RequirePrometheus)
		}
		t.Skipf("no prometheus on PATH (Debian: apt-get install prometheus); set %s=1 to fail instead", RequirePrometheus)
	}
	return bin
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPrometheus starts bin scraping target (host:port) every second,
// with native histograms on when native is true, and returns without
// waiting for it: ready waits. Cleanup kills it, also after a failure.
func startPrometheus(t *testing.T, bin, name, target string, native bool) *promServer {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: %s
    static_configs: [{targets: [%q]}]
`, Job, target)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := []string{"--config.file=" + conf, "--web.listen-address=" + addr,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"), "--log.level=warn"}
	if native {
		args = append(args, "--enable-feature=native-histograms")
	}
	logs := filepath.Join(dir, "stderr")
	f, err := os.Create(logs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Stderr, cmd.Stdout = dir, f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	s := &promServer{name: name, logs: logs, exited: make(chan error, 1)}
	go func() { s.exited <- cmd.Wait(); f.Close() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.exited
		s.exited <- errors.New("killed")
	})
	c, err := api.NewClient(api.Config{Address: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	s.api = v1.NewAPI(c)
	return s
}

// fail ends the test with msg and the tail of the server's log.
func (s *promServer) fail(t *testing.T, format string, args ...any) {
	t.Helper()
	b, _ := os.ReadFile(s.logs)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	t.Fatalf("prometheus (%s): %s\n%s", s.name, fmt.Sprintf(format, args...), b)
}

// poll calls ok every 50 ms until it is true, failing the test when the
// server exits or the deadline passes.
func (s *promServer) poll(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case err := <-s.exited:
			s.exited <- err
			s.fail(t, "exited while waiting for %s: %v", what, err)
		case <-deadline.C:
			s.fail(t, "no %s within %s", what, within)
		case <-tick.C:
		}
	}
}

// ready waits until the server answers /-/ready and has scraped the
// target once successfully.
func (s *promServer) ready(t *testing.T) {
	t.Helper()
	s.poll(t, "/-/ready", 20*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := s.api.Buildinfo(ctx) // any answer of the API: it is serving
		return err == nil
	})
	s.poll(t, "successful scrape of the target", 20*time.Second, func() bool {
		v, err := s.query(`up{job="`+Job+`"} == 1`, time.Now())
		return err == nil && len(v) == 1
	})
}

// query runs an instant query at ts.
func (s *promServer) query(q string, ts time.Time) (model.Vector, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, _, _, err := s.api.Query(ctx, q, ts)
	if err != nil {
		return nil, err
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("%s: a %s, not a vector", q, v.Type())
	}
	return vec, nil
}

// byLabels runs q at ts and returns its values by the given labels'
// values, joined with "/".
func (s *promServer) byLabels(t *testing.T, q string, ts time.Time, labels ...string) map[string]float64 {
	t.Helper()
	vec, err := s.query(q, ts)
	if err != nil {
		s.fail(t, "%s: %v", q, err)
	}
	out := map[string]float64{}
	for _, smp := range vec {
		var key []string
		for _, l := range labels {
			key = append(key, string(smp.Metric[model.LabelName(l)]))
		}
		out[strings.Join(key, "/")] = float64(smp.Value)
	}
	return out
}
