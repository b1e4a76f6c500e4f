// Command loadcmp runs stampede, wrk and hey against the same loopback
// target, the generator pinned to one core and the target to the other,
// and prints requests/s, the generator's CPU time per request, p50/p99
// and peak and steady RSS side by side, as ratios to wrk; -base adds a
// second stampede binary (another build) to the same rounds. See
// bench/peers/README.md.
//
// Every load is bounded: a fixed duration against 127.0.0.1 only.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

type measure struct {
	tool     string
	requests float64
	rps      float64
	cpuS     float64 // user + system of the generator process
	rssMB    float64 // peak (wait4's rusage)
	steadyMB float64 // median of VmRSS sampled over the run's second half
	p50, p99 float64 // ms
}

func (m measure) cpuPerReqUS() float64 {
	if m.requests == 0 {
		return 0
	}
	return m.cpuS / m.requests * 1e6
}

func main() {
	stampede := flag.String("stampede", "stampede", "stampede binary")
	base := flag.String("base", "", "a second stampede binary (another build) run as the tool \"base\" in the same rounds")
	target := flag.String("target", "", "target server binary (bench/peers/target)")
	dur := flag.Duration("duration", 10*time.Second, "length of each load")
	conns := flag.Int("conns", 50, "connections / VUs")
	rounds := flag.Int("rounds", 3, "rounds (median is reported)")
	tools := flag.String("tools", "wrk,stampede,hey", "generators to compare, in order")
	manyVUs := flag.Int("many-vus", 10000, "VUs for the memory test against the 1 s endpoint (0 to skip)")
	manyDur := flag.Duration("many-duration", 15*time.Second, "length of the memory test")
	genCPU := flag.String("generator-cpu", "0", "CPU list for the generator (taskset)")
	targetCPU := flag.String("target-cpu", "1", "CPU list for the target (taskset)")
	outDir := flag.String("out", "", "directory for raw outputs (default a temp dir)")
	watchCost := flag.Bool("watch-cost", false, "instead: stampede's requests/s with and without watching the target (process + pprof)")
	outputCost := flag.Bool("output-cost", false, "instead: stampede's requests/s with and without the live outputs (csv, prometheus, otlp)")
	dashboardCost := flag.Bool("dashboard-cost", false, "instead: stampede's requests/s with and without the live dashboard, its event stream read as a browser would")
	flag.Parse()
	if *target == "" {
		fail("give -target (build it with: go build -o /tmp/target ./bench/peers/target)")
	}
	if *outDir == "" {
		d, err := os.MkdirTemp("", "loadcmp-")
		check(err)
		*outDir = d
	}
	addr := freeAddr()
	tgt := exec.Command("taskset", "-c", *targetCPU, *target, "-addr", addr)
	tgt.Stderr = os.Stderr
	check(tgt.Start())
	defer tgt.Process.Kill()
	waitListening(addr)
	url := "http://" + addr + "/"
	if *watchCost {
		measureWatchCost(*stampede, url, tgt.Process.Pid, *dur, *conns, *rounds, *genCPU, *outDir)
		return
	}
	if *outputCost {
		measureOutputCost(*stampede, url, *dur, *conns, *rounds, *genCPU, *outDir)
		return
	}
	if *dashboardCost {
		measureDashboardCost(*stampede, url, *dur, *conns, *rounds, *genCPU, *outDir)
		return
	}

	if *base != "" {
		*tools += ",base"
	}
	results := map[string][]measure{}
	for r := 1; r <= *rounds; r++ {
		for _, tool := range strings.Split(*tools, ",") {
			bin := *stampede
			if tool == "base" {
				bin = *base
			}
			m, err := runTool(tool, bin, url, *dur, *conns, *genCPU, filepath.Join(*outDir, fmt.Sprintf("%s.%d", tool, r)))
			if err != nil {
				fmt.Fprintf(os.Stderr, "loadcmp: %s round %d: %v\n", tool, r, err)
				continue
			}
			results[tool] = append(results[tool], m)
			fmt.Fprintf(os.Stderr, "round %d %-8s %9.0f req/s  %5.1f µs CPU/req  p99 %6.2f ms  RSS %6.1f MB peak, %6.1f MB steady\n", r, tool, m.rps, m.cpuPerReqUS(), m.p99, m.rssMB, m.steadyMB)
		}
	}
	fmt.Printf("\n%d connections, %s per run, median of %d rounds (each column its own); generator on CPU %s, target on CPU %s\n\n", *conns, *dur, *rounds, *genCPU, *targetCPU)
	ref, ok := median(results["wrk"])
	fmt.Printf("%-10s %10s %8s %12s %8s %9s %9s %9s %8s %10s %8s\n", "tool", "req/s", "vs wrk", "CPU µs/req", "vs wrk", "p50 ms", "p99 ms", "peak MB", "vs wrk", "steady MB", "vs wrk")
	for _, tool := range strings.Split(*tools, ",") {
		m, have := median(results[tool])
		if !have {
			continue
		}
		rr, cr, mr, sr := "-", "-", "-", "-"
		if ok && ref.rps > 0 {
			rr = fmt.Sprintf("%.2f", m.rps/ref.rps)
			cr = fmt.Sprintf("%.2f", m.cpuPerReqUS()/ref.cpuPerReqUS())
			mr = fmt.Sprintf("%.1f", m.rssMB/ref.rssMB)
			if ref.steadyMB > 0 {
				sr = fmt.Sprintf("%.1f", m.steadyMB/ref.steadyMB)
			}
		}
		fmt.Printf("%-10s %10.0f %8s %12.2f %8s %9.2f %9.2f %9.1f %8s %10.1f %8s\n", tool, m.rps, rr, m.cpuPerReqUS(), cr, m.p50, m.p99, m.rssMB, mr, m.steadyMB, sr)
	}
	if *manyVUs > 0 {
		fmt.Printf("\n%d VUs against a 1 s endpoint for %s (this machine caps a process at 20,000 open files)\n", *manyVUs, *manyDur)
		for _, tool := range []string{"stampede", "wrk"} {
			if !strings.Contains(*tools, tool) {
				continue
			}
			m, err := runTool(tool, *stampede, "http://"+addr+"/slow", *manyDur, *manyVUs, *genCPU, filepath.Join(*outDir, tool+".many"))
			if err != nil {
				fmt.Fprintf(os.Stderr, "loadcmp: %s with %d connections: %v\n", tool, *manyVUs, err)
				continue
			}
			fmt.Printf("%-10s %8.0f req/s  peak RSS %7.1f MB  p99 %8.1f ms\n", tool, m.rps, m.rssMB, m.p99)
		}
	}
}

// measureWatchCost alternates runs without and with the watch of the
// target (its process and its pprof endpoint) and compares requests/s.
func measureWatchCost(stampede, url string, pid int, dur time.Duration, conns, rounds int, cpu, dir string) {
	watch := []string{"--watch-pid", strconv.Itoa(pid), "--pprof", strings.TrimSuffix(url, "/") + "/debug/pprof"}
	measureCost("watch cost", [2]string{"without system", "with system"}, func(string) []string { return watch },
		stampede, url, dur, conns, rounds, cpu, dir)
}

// measureOutputCost alternates runs without and with the three live
// outputs: a CSV file, a Prometheus endpoint scraped every second, and
// OTLP/HTTP exports to a receiver here that reads and acknowledges them.
func measureOutputCost(stampede, url string, dur time.Duration, conns, rounds int, cpu, dir string) {
	var exports, scrapes atomic.Int64
	recvAddr := freeAddr()
	recv := &http.Server{Addr: recvAddr, ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		exports.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK) // an empty body is an empty ExportMetricsServiceResponse
	})}
	go recv.ListenAndServe()
	defer recv.Close()
	promAddr := freeAddr()
	stop := make(chan struct{})
	defer close(stop)
	go func() { // scrape as a Prometheus server would, once a second
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if resp, err := http.Get("http://" + promAddr + "/metrics"); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					scrapes.Add(1)
				}
			}
		}
	}()
	outs := func(prefix string) []string {
		return []string{"--out", "csv=" + prefix + ".csv", "--out", "prometheus=" + promAddr, "--out", "otlp=http://" + recvAddr}
	}
	measureCost("live outputs cost (csv + prometheus + otlp)", [2]string{"without outputs", "with outputs"}, outs,
		stampede, url, dur, conns, rounds, cpu, dir)
	fmt.Printf("(%d scrapes and %d OTLP exports were served during the runs with outputs)\n", scrapes.Load(), exports.Load())
}

// measureDashboardCost alternates runs without and with --dashboard, a
// reader here following its event stream as an open page does (it
// reconnects while the run starts and between runs).
func measureDashboardCost(stampede, url string, dur time.Duration, conns, rounds int, cpu, dir string) {
	addr := freeAddr()
	var events atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Get("http://" + addr + "/events")
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 64<<10), 16<<20)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "data:") {
					events.Add(1)
				}
			}
			resp.Body.Close()
		}
	}()
	measureCost("dashboard cost", [2]string{"without dashboard", "with dashboard"}, func(string) []string { return []string{"--dashboard=" + addr} },
		stampede, url, dur, conns, rounds, cpu, dir)
	fmt.Printf("(%d events were read from the dashboard's stream during the runs with it)\n", events.Load())
}

// measureCost alternates stampede runs without and with extra arguments
// (given each run's output prefix) and prints their medians side by side
// and the ratio of requests/s.
func measureCost(title string, names [2]string, extra func(prefix string) []string, stampede, url string, dur time.Duration, conns, rounds int, cpu, dir string) {
	var runs [2][]measure
	var paired, pairedCPU []float64 // each round's ratio: its two runs shared the machine's state
	for r := 1; r <= rounds; r++ {
		var round [2]*measure
		for i, name := range names {
			prefix := filepath.Join(dir, fmt.Sprintf("%s.%d", strings.ReplaceAll(name, " ", "-"), r))
			var args []string
			if i == 1 {
				args = extra(prefix)
			}
			m, err := runTool("stampede", stampede, url, dur, conns, cpu, prefix, args...)
			if err != nil {
				fmt.Fprintf(os.Stderr, "loadcmp: %s round %d: %v\n", name, r, err)
				continue
			}
			fmt.Fprintf(os.Stderr, "round %d %-16s %9.0f req/s  %5.1f µs CPU/req\n", r, name, m.rps, m.cpuPerReqUS())
			runs[i] = append(runs[i], m)
			round[i] = &m
		}
		if round[0] != nil && round[1] != nil && round[0].rps > 0 && round[0].cpuPerReqUS() > 0 {
			paired = append(paired, round[1].rps/round[0].rps)
			pairedCPU = append(pairedCPU, round[1].cpuPerReqUS()/round[0].cpuPerReqUS())
		}
	}
	p, ok1 := median(runs[0])
	w, ok2 := median(runs[1])
	if !ok1 || !ok2 {
		fail("no complete round")
	}
	fmt.Printf("\n%s: %d VUs, %s per run, median of %d rounds\n", title, conns, dur, rounds)
	fmt.Printf("%-16s %9.0f req/s  %5.2f µs CPU/req\n", names[0]+":", p.rps, p.cpuPerReqUS())
	fmt.Printf("%-16s %9.0f req/s  %5.2f µs CPU/req\n", names[1]+":", w.rps, w.cpuPerReqUS())
	fmt.Printf("ratio:           %9.3f (%+.1f%% req/s), CPU per request %.3f\n", w.rps/p.rps, 100*(w.rps/p.rps-1), w.cpuPerReqUS()/p.cpuPerReqUS())
	fmt.Printf("paired rounds:   %9.3f median ratio of req/s, %.3f of CPU per request, over %d rounds\n", medianOf(paired), medianOf(pairedCPU), len(paired))
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}

func runTool(tool, stampede, url string, dur time.Duration, conns int, cpu, prefix string, extra ...string) (measure, error) {
	var args []string
	switch tool {
	case "wrk":
		threads := 1
		if conns > 1000 {
			threads = 2
		}
		args = []string{"wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", secs(dur), "--latency", "--timeout", "10s", url}
	case "hey":
		args = []string{"hey", "-z", secs(dur), "-c", strconv.Itoa(conns), url}
	case "stampede", "base":
		args = append([]string{stampede, "run", "--url", url, "--vus", strconv.Itoa(conns), "--duration", dur.String(), "-q", "--no-store", "--out", "json=" + prefix + ".json"}, extra...)
	default:
		return measure{}, fmt.Errorf("unknown tool %q", tool)
	}
	cmd := exec.Command("taskset", append([]string{"-c", cpu}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Start()
	var steady []float64
	if err == nil {
		steady = sampleRSS(cmd.Process.Pid, dur)
		err = cmd.Wait()
	}
	os.WriteFile(prefix+".out", out.Bytes(), 0o644)
	// Driving a target as fast as one core allows makes the generator the
	// limit on purpose, so stampede says its verdict is inconclusive (exit
	// 1); its Run is still complete and is what this comparison reads.
	var ee *exec.ExitError
	if (tool == "stampede" || tool == "base") && errors.As(err, &ee) && ee.ExitCode() == 1 && strings.Contains(out.String(), "inconclusive") {
		err = nil
	}
	if err != nil {
		return measure{}, fmt.Errorf("%v: %s", err, lastLine(out.String()))
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	m := measure{tool: tool,
		cpuS:     float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9,
		rssMB:    float64(ru.Maxrss) / 1024,
		steadyMB: medianOf(steady),
	}
	switch tool {
	case "wrk":
		return parseWrk(m, out.String())
	case "hey":
		return parseHey(m, out.String())
	}
	return parseStampede(m, prefix+".json")
}

var (
	wrkReq  = regexp.MustCompile(`(\d+) requests in ([\d.]+)(\w+)`)
	wrkRPS  = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkPct  = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)`)
	heyRPS  = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	heyOK   = regexp.MustCompile(`\[\d+\]\s+(\d+) responses`)
	heyPct  = regexp.MustCompile(`(?m)^\s+(50|99)%% in ([\d.]+) secs`)
	heyPct2 = regexp.MustCompile(`(?m)^\s+(50|99)% in ([\d.]+) secs`)
)

func parseWrk(m measure, s string) (measure, error) {
	r := wrkReq.FindStringSubmatch(s)
	p := wrkRPS.FindStringSubmatch(s)
	if r == nil || p == nil {
		return m, fmt.Errorf("cannot read wrk's output")
	}
	m.requests, _ = strconv.ParseFloat(r[1], 64)
	m.rps, _ = strconv.ParseFloat(p[1], 64)
	for _, g := range wrkPct.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(g[2], 64)
		switch g[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if g[1] == "50" {
			m.p50 = v
		} else {
			m.p99 = v
		}
	}
	return m, nil
}

func parseHey(m measure, s string) (measure, error) {
	p := heyRPS.FindStringSubmatch(s)
	if p == nil {
		return m, fmt.Errorf("cannot read hey's output")
	}
	m.rps, _ = strconv.ParseFloat(p[1], 64)
	for _, g := range heyOK.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(g[1], 64)
		m.requests += v
	}
	pcts := heyPct2.FindAllStringSubmatch(s, -1)
	if len(pcts) == 0 {
		pcts = heyPct.FindAllStringSubmatch(s, -1)
	}
	for _, g := range pcts {
		v, _ := strconv.ParseFloat(g[2], 64)
		if g[1] == "50" {
			m.p50 = v * 1000
		} else {
			m.p99 = v * 1000
		}
	}
	return m, nil
}

func parseStampede(m measure, path string) (measure, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	var r struct {
		Summary struct {
			Requests float64 `json:"requests"`
			RPS      float64 `json:"rps"`
			Latency  struct {
				P50 float64 `json:"p50"`
				P99 float64 `json:"p99"`
			} `json:"latency_ms"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return m, err
	}
	m.requests, m.rps, m.p50, m.p99 = r.Summary.Requests, r.Summary.RPS, r.Summary.Latency.P50, r.Summary.Latency.P99
	return m, nil
}

// median is each field's own median over ms (CPU per request through its
// CPU time and requests: the run with the median CPU per request).
func median(ms []measure) (measure, bool) {
	if len(ms) == 0 {
		return measure{}, false
	}
	of := func(f func(measure) float64) float64 {
		xs := make([]float64, len(ms))
		for i, m := range ms {
			xs[i] = f(m)
		}
		return medianOf(xs)
	}
	s := append([]measure(nil), ms...)
	sort.Slice(s, func(i, j int) bool { return s[i].cpuPerReqUS() < s[j].cpuPerReqUS() })
	m := s[len(s)/2]
	m.rps = of(func(m measure) float64 { return m.rps })
	m.p50 = of(func(m measure) float64 { return m.p50 })
	m.p99 = of(func(m measure) float64 { return m.p99 })
	m.rssMB = of(func(m measure) float64 { return m.rssMB })
	m.steadyMB = of(func(m measure) float64 { return m.steadyMB })
	return m, true
}

// sampleRSS reads pid's VmRSS every 100 ms until it exits and returns
// the samples (MB) of the second half of a run of length dur: the load's
// steady memory, past start-up.
func sampleRSS(pid int, dur time.Duration) []float64 {
	path := fmt.Sprintf("/proc/%d/status", pid)
	t0 := time.Now()
	var xs []float64
	for tick := time.NewTicker(100 * time.Millisecond); ; <-tick.C {
		b, err := os.ReadFile(path)
		if err != nil || bytes.Contains(b, []byte("State:\tZ")) {
			tick.Stop()
			return xs
		}
		if time.Since(t0) < dur/2 || time.Since(t0) > dur {
			continue
		}
		if _, rest, ok := bytes.Cut(b, []byte("VmRSS:")); ok {
			if f := bytes.Fields(rest); len(f) > 0 {
				if kb, err := strconv.ParseFloat(string(f[0]), 64); err == nil {
					xs = append(xs, kb/1024)
				}
			}
		}
	}
}

func secs(d time.Duration) string { return strconv.Itoa(int(d.Seconds())) + "s" }

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(addr string) {
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	fail("target did not start listening on " + addr)
}

func lastLine(s string) string {
	var last string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			last = t
		}
	}
	return last
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "loadcmp:", msg)
	os.Exit(2)
}
