package monitor

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/demo"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/store"
)

// target is the demo shop on loopback, which can be made slow (every
// answer held back), taken down (its port refuses connections) and
// brought back on the same port.
type target struct {
	t     *testing.T
	addr  string
	shop  http.Handler
	mu    sync.Mutex // guards delay and srv
	delay time.Duration
	srv   *http.Server
}

func newTarget(t *testing.T) *target {
	shop, err := demo.New(context.Background(), demo.Options{Products: 20, Users: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shop.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{t: t, addr: ln.Addr().String(), shop: shop.Handler()}
	tg.serve(ln)
	t.Cleanup(func() { tg.down() })
	return tg
}

func (tg *target) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		delay := tg.delay
		tg.mu.Unlock()
		time.Sleep(delay)
		tg.shop.ServeHTTP(w, r)
	})}
	tg.mu.Lock()
	tg.srv = srv
	tg.mu.Unlock()
	go srv.Serve(ln)
}

// setSlow makes every answer take twice the SLO's 2 s: slow on any
// machine, under -race too.
func (tg *target) setSlow(v bool) {
	if v {
		tg.setDelay(4 * time.Second)
	} else {
		tg.setDelay(0)
	}
}

func (tg *target) setDelay(d time.Duration) {
	tg.mu.Lock()
	tg.delay = d
	tg.mu.Unlock()
}

func (tg *target) down() {
	tg.mu.Lock()
	srv := tg.srv
	tg.srv = nil
	tg.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (tg *target) up() {
	ln, err := net.Listen("tcp", tg.addr)
	if err != nil {
		tg.t.Fatalf("the target cannot listen on %s again: %v", tg.addr, err)
	}
	tg.serve(ln)
}

// hooks records the webhooks' bodies.
type hooks struct {
	mu          sync.Mutex // guards json and slack
	json, slack []map[string]any
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m map[string]any
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.URL.Path == "/slack" {
		h.slack = append(h.slack, m)
	} else {
		h.json = append(h.json, m)
	}
}

// planHead is the monitored plan but its name and monitor block.
const planHead = `
target:
  base_url: "http://%ADDR%"
scenarios:
  - name: browse
    steps:
      - name: home
        method: GET
        path: /api/products?limit=5
`

const monitorPlan = `name: monitored service` + planHead + `monitor:
  every: 2s
  vus: 1
  duration: 1s
  thresholds: ["p95 < 2s", "error_rate < 1%"]
  remind: 1h
  alerts:
    - webhook: "http://%HOOK%/json"
    - slack: "http://%HOOK%/slack"
    - command: "cat >> '%FILE%'; echo >> '%FILE%'"
`

// The monitor every 2 s against the demo shop made slow, then healthy, then
// down, then healthy, with the monitor itself restarted in the middle
// of the outage: exactly one alert per incident and one recovery, to
// every destination; every check in the history; the counters on
// /metrics carried across the restart.
func TestMonitorIncidents(t *testing.T) {
	t.Parallel()
	tg := newTarget(t)
	hk := &hooks{}
	hookSrv := httptest.NewServer(hk)
	defer hookSrv.Close()
	dir := t.TempDir()
	cmdFile := filepath.Join(dir, "alerts.jsonl")
	text := strings.NewReplacer("%ADDR%", tg.addr, "%HOOK%", strings.TrimPrefix(hookSrv.URL, "http://"), "%FILE%", cmdFile).Replace(monitorPlan)
	p, err := plan.Parse(filepath.Join(dir, "plan.yaml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// What the service does before check n (1-based), and whether the
	// monitor restarts after it.
	const checks = 12
	mode := func(n int) string {
		switch {
		case n <= 2:
			return "healthy"
		case n <= 5:
			return "slow"
		case n <= 7:
			return "healthy"
		case n <= 10:
			return "down"
		}
		return "healthy"
	}
	const restartAfter = 9
	set := func(m string) {
		switch m {
		case "slow":
			tg.setSlow(true)
		case "healthy":
			tg.setSlow(false)
			tg.mu.Lock()
			isDown := tg.srv == nil
			tg.mu.Unlock()
			if isDown {
				tg.up()
			}
		case "down":
			tg.down()
		}
	}

	var (
		n      int
		runs   []string
		alerts []string
		m      *Monitor
	)
	run := func(stopAfter int) {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		var err error
		m, err = New(p, st, Options{OnCheck: func(c Check) {
			if c.Run != nil {
				runs = append(runs, c.Run.ID)
			}
			want := mode(n)
			if c.Healthy != (want == "healthy") {
				t.Errorf("check %d against a %s service: healthy %v (%s)", n, want, c.Healthy, c.Reason)
			}
			if c.Alert != nil {
				alerts = append(alerts, c.Alert.Status)
			}
			for _, e := range c.SendErrors {
				t.Errorf("check %d: %v", n, e)
			}
			if n == stopAfter {
				cancel()
				return
			}
			n++
			set(mode(n))
		}})
		if err != nil {
			t.Fatal(err)
		}
		if m.Every() != 2*time.Second {
			t.Fatalf("every %v, want the plan's 2s", m.Every())
		}
		if err := m.Run(rctx); err != nil {
			t.Fatal(err)
		}
		if rctx.Err() == context.DeadlineExceeded {
			t.Fatalf("the monitor did not reach check %d in time", stopAfter)
		}
	}
	n = 1
	set(mode(1))
	run(restartAfter)
	n++
	set(mode(n))
	run(checks) // a new monitor on the same history

	if got := strings.Join(alerts, " "); got != "firing resolved firing resolved" {
		t.Errorf("alerts %q, want one firing and one resolved per incident", got)
	}
	hk.mu.Lock()
	var hookStatus, incidents []string
	for _, a := range hk.json {
		hookStatus = append(hookStatus, a["status"].(string))
		incidents = append(incidents, a["incident"].(string))
	}
	nSlack := len(hk.slack)
	slackOK := nSlack > 0 && strings.Contains(hk.slack[0]["text"].(string), "monitored service is failing")
	hk.mu.Unlock()
	if strings.Join(hookStatus, " ") != "firing resolved firing resolved" {
		t.Errorf("the webhook got %v", hookStatus)
	} else if incidents[0] != incidents[1] || incidents[2] != incidents[3] || incidents[0] == incidents[2] {
		t.Errorf("incidents %v: each firing and its resolution share one, the two differ", incidents)
	}
	if nSlack != 4 || !slackOK {
		t.Errorf("the Slack hook got %d messages (first ok %v), want 4", nSlack, slackOK)
	}
	f, err := os.Open(cmdFile)
	if err != nil {
		t.Fatal(err)
	}
	var cmdStatus []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a Alert
		if line := strings.TrimSpace(sc.Text()); line != "" {
			if err := json.Unmarshal([]byte(line), &a); err != nil {
				t.Fatalf("the command got %q: %v", line, err)
			}
			cmdStatus = append(cmdStatus, a.Status)
		}
	}
	f.Close()
	if strings.Join(cmdStatus, " ") != "firing resolved firing resolved" {
		t.Errorf("the command got %v", cmdStatus)
	}

	// Nothing lost: every check is a finished run of the history.
	es, err := st.List(ctx, store.Filter{Plan: "monitored service"})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != checks || len(runs) != checks {
		t.Errorf("%d runs in the history, %d checks seen, want %d", len(es), len(runs), checks)
	}
	for _, e := range es {
		if e.State != store.StateFinished || e.Tags["monitor"] != "2s" {
			t.Errorf("run %s: state %s, tags %v", e.ID, e.State, e.Tags)
		}
	}

	// The state on /metrics, counted across the restart.
	srv := httptest.NewServer(m.Metrics())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`stampede_monitor_checks_total{plan="monitored service"} 12`,
		`stampede_monitor_failed_checks_total{plan="monitored service"} 6`,
		`stampede_monitor_healthy{plan="monitored service"} 1`,
		`stampede_monitor_incident_open{plan="monitored service"} 0`,
		`stampede_monitor_alerts_total{plan="monitored service",status="resolved"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
}

const regressionPlan = `name: regressing service` + planHead + `monitor:
  every: 7s
  vus: 1
  duration: 6s
  thresholds: ["p95 < 2s", "error_rate < 1%"]
  regression: 20%
  remind: 10s
  alerts:
    - webhook: "http://%HOOK%/json"
`

// The demo shop slowed from 25 ms to 100 ms an answer, well within its
// SLO, against the baseline of its own earlier checks: the
// regression opens an incident (alerted once, its reason naming the
// regressed metric), which is reminded once it has lasted past remind,
// and resolved when the service is fast again. Checks last 6 s: with
// one-second windows, 4 or 5 a side cannot make any difference
// significant once Holm's correction spreads α over the compared rows
// (the smallest two-sided p of 5 against 5 is 0.008, times 8 rows).
// The fast answers take 25 ms, not the shop's bare millisecond: a busy
// machine under -race adds a few milliseconds to every answer of a
// check, which against a 1 ms baseline is a real +50 % that the
// monitor rightly calls a regression, and against 25 ms stays under
// the plan's 20 %.
func TestMonitorRegressionAndReminder(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs six checks 7 s apart; skipped with -short")
	}
	tg := newTarget(t)
	hk := &hooks{}
	hookSrv := httptest.NewServer(hk)
	defer hookSrv.Close()
	dir := t.TempDir()
	text := strings.NewReplacer("%ADDR%", tg.addr, "%HOOK%", strings.TrimPrefix(hookSrv.URL, "http://")).Replace(regressionPlan)
	p, err := plan.Parse(filepath.Join(dir, "plan.yaml"), []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(dir, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	// Checks 1–2 fast (the first becomes the baseline), 3–5 slow: the
	// incident opens at 3 and is 14 s old at 5, past the 10 s reminder;
	// 6 fast again.
	const checks = 6
	delay := func(n int) time.Duration {
		if n >= 3 && n <= 5 {
			return 100 * time.Millisecond
		}
		return 25 * time.Millisecond
	}
	tg.setDelay(delay(1))
	var alerts, reasons []string
	n := 1
	m, err := New(p, st, Options{OnCheck: func(c Check) {
		if n == 1 && c.Run != nil {
			if err := st.SetBaseline(ctx, "regressing service", c.Run.ID); err != nil {
				t.Error(err)
			}
		}
		if want := delay(n) < 100*time.Millisecond; c.Healthy != want {
			t.Errorf("check %d (answers after %v): healthy %v (%s)", n, delay(n), c.Healthy, c.Reason)
		}
		if c.Alert != nil {
			alerts = append(alerts, c.Alert.Status)
			reasons = append(reasons, c.Alert.Reason)
		}
		if n == checks {
			cancel()
			return
		}
		n++
		tg.setDelay(delay(n))
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n != checks {
		t.Fatalf("the monitor stopped at check %d of %d", n, checks)
	}
	// Checks 7 s apart remind once (check 5, 14 s in); a machine that
	// stretches them past the 10 s reminder reminds at check 4 too.
	reminded := regexp.MustCompile(`^firing( reminder){1,2} resolved$`)
	if got := strings.Join(alerts, " "); !reminded.MatchString(got) {
		t.Errorf("alerts %q, want firing, a reminder or two, resolved", got)
	}
	if len(reasons) > 0 && !strings.Contains(reasons[0], "regression against the baseline") {
		t.Errorf("the incident's reason %q does not name the regression", reasons[0])
	}
	hk.mu.Lock()
	defer hk.mu.Unlock()
	var got []string
	for _, a := range hk.json {
		got = append(got, a["status"].(string))
	}
	if strings.Join(got, " ") != strings.Join(alerts, " ") {
		t.Errorf("the webhook got %v, the checks alerted %v", got, alerts)
	}
}
