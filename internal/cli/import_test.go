package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/demo"
	"github.com/stampede-perf/stampede/plan"
)

// harRecorder is an http.RoundTripper that keeps every exchange as a HAR
// 1.2 entry, the way a browser's developer tools save them.
type harRecorder struct {
	mu      sync.Mutex // guards entries
	entries []map[string]any
}

func harHeaders(h http.Header) []map[string]string {
	var out []map[string]string
	for k, vs := range h {
		for _, v := range vs {
			out = append(out, map[string]string{"name": k, "value": v})
		}
	}
	return out
}

func (r *harRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	start := time.Now()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	e := map[string]any{
		"startedDateTime": start.UTC().Format(time.RFC3339Nano),
		"time":            float64(time.Since(start).Microseconds()) / 1000,
		"request": map[string]any{"method": req.Method, "url": req.URL.String(), "httpVersion": "HTTP/1.1",
			"headers": harHeaders(req.Header)},
		"response": map[string]any{"status": resp.StatusCode, "headers": harHeaders(resp.Header),
			"content": map[string]any{"mimeType": resp.Header.Get("Content-Type"), "text": string(respBody)}},
	}
	if body != nil {
		e["request"].(map[string]any)["postData"] = map[string]any{"mimeType": req.Header.Get("Content-Type"), "text": string(body)}
	}
	r.mu.Lock()
	r.entries = append(r.entries, e)
	r.mu.Unlock()
	return resp, nil
}

func (r *harRecorder) har() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _ := json.MarshalIndent(map[string]any{"log": map[string]any{"version": "1.2",
		"creator": map[string]string{"name": "stampede test", "version": "1"}, "entries": r.entries}}, "", "  ")
	return b
}

// shopJourney logs in as the shop's first user, looks at the first
// product, puts it in the cart, checks out and reads the order back.
func shopJourney(t *testing.T, c *http.Client, base string) {
	t.Helper()
	users, err := csv.NewReader(bytes.NewReader(demo.UsersCSV(1))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, token, body string, want int) map[string]any {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, base+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "stampede-test-browser/1")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, v)
		}
		return v
	}
	login := call("POST", "/api/auth/login", "", `{"email":"`+users[1][0]+`","password":"`+users[1][1]+`"}`, 200)
	token, _ := login["token"].(string)
	list := call("GET", "/api/products?page=1&limit=5", "", "", 200)
	id := list["products"].([]any)[2].(map[string]any)["id"].(float64)
	idText := jsonNumber(id)
	call("GET", "/api/products/"+idText, "", "", 200)
	call("POST", "/api/cart/add", token, `{"product_id":`+idText+`,"quantity":1}`, 200)
	order := call("POST", "/api/checkout", token, "", 201)
	call("GET", "/api/orders/"+jsonNumber(order["order_id"].(float64)), token, "", 200)
}

func jsonNumber(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func startShop(t *testing.T) *demo.Server {
	t.Helper()
	s, err := demo.Start(context.Background(), "127.0.0.1:0", demo.Options{Products: 50, Users: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// A session recorded against one shop, imported, and run against a
// second, fresh shop: the recorded token means nothing there and the
// recorded order belongs to nobody after the first iteration, so every
// request passes only if the correlations were found. One VU: the
// recording is one user's, whose cart two VUs would race to check out.
func TestImportHARRunsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	rec := &harRecorder{}
	first := startShop(t)
	shopJourney(t, &http.Client{Transport: rec}, first.URL())
	first.Close(context.Background())
	harFile := filepath.Join(dir, "session.har")
	if err := os.WriteFile(harFile, rec.har(), 0o644); err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(dir, "plan.yaml")
	res := runCLI(t, context.Background(), "import", "har", harFile, "-o", planFile)
	if res.code != 0 {
		t.Fatalf("import: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	data, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Authorization": "Bearer {{ token }}"`, `token: { json: "token" }`, `order_id: { json: "order_id" }`,
		`path: "/api/orders/{{ order_id }}"`, `path: "/api/products/{{ products_id }}"`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("the plan lacks %s:\n%s", want, data)
		}
	}
	second := startShop(t)
	data = bytes.ReplaceAll(data, []byte(first.URL()), []byte(second.URL()))
	if err := os.WriteFile(planFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "run.json")
	res = runCLI(t, context.Background(), "run", planFile, "--vus", "1", "--duration", "1s", "--no-store", "-q", "--out", "json="+out)
	if res.code != 0 {
		t.Fatalf("run: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	run, _ := readRun(t, out)
	if run.Summary.Requests < 6 || run.Summary.Errors != 0 {
		t.Errorf("the imported plan ran %d requests with %d errors", run.Summary.Requests, run.Summary.Errors)
	}
	if len(run.Steps) != 6 {
		t.Errorf("%d steps ran, want the 6 recorded", len(run.Steps))
	}
}

func TestImportCommands(t *testing.T) {
	dir := t.TempDir()
	// curl: to stdout, with the flags after -- as the shell split them.
	res := runCLI(t, context.Background(), "import", "curl", "--", "curl", "-X", "POST", "http://127.0.0.1:9/api/x", "-H", "Accept: application/json", "-d", "a=1")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	p, err := plan.Parse("stdout.yaml", []byte(res.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if st := p.Scenarios[0].Steps[0]; st.Method != "POST" || st.Path != "/api/x" || st.Body != "a=1" {
		t.Errorf("step %+v", st)
	}
	// openapi: the plan and its data file stub beside it; a second import keeps the filled file.
	spec := filepath.Join("..", "..", "importer", "openapi", "testdata", "shop.yaml")
	planFile := filepath.Join(dir, "api.yaml")
	res = runCLI(t, context.Background(), "import", "openapi", spec, "-o", planFile)
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	stub := filepath.Join(dir, "api-params.csv")
	if b, err := os.ReadFile(stub); err != nil || string(b) != "orderId,id\n5012,42\n" {
		t.Errorf("stub %q, %v", b, err)
	}
	if _, err := plan.Load(planFile); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(stub, []byte("orderId,id\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res = runCLI(t, context.Background(), "import", "openapi", spec, "-o", planFile)
	if b, _ := os.ReadFile(stub); res.code != 0 || string(b) != "orderId,id\n1,2\n" || !strings.Contains(res.stderr, "kept") {
		t.Errorf("exit %d, stub %q, stderr %s", res.code, b, res.stderr)
	}
	// Errors: one line each, exit 2, with the position.
	bad := filepath.Join(dir, "bad.har")
	if err := os.WriteFile(bad, []byte("{\"log\": {\"entries\": [\n  {oops}\n]}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "curl", "curl --bogus http://h.test/"}, "line 1, column 6: unknown flag --bogus"},
		{[]string{"import", "har", bad}, "bad.har:2:4: not a HAR file"},
		{[]string{"import", "openapi", filepath.Join("..", "..", "importer", "openapi", "testdata", "broken-ref.yaml")}, "broken-ref.yaml:12:23: broken $ref"},
		{[]string{"import", "har", filepath.Join(dir, "missing.har")}, "no such file"},
		{[]string{"import"}, "say curl, har or openapi"},
	} {
		res := runCLI(t, context.Background(), c.args...)
		if res.code != ExitInvalid || !strings.Contains(res.stderr, c.want) || strings.Count(strings.TrimSpace(res.stderr), "\n") > 0 {
			t.Errorf("%q: exit %d, stderr %q, want one line with %q", c.args, res.code, res.stderr, c.want)
		}
	}
}
