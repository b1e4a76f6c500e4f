package har

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/importer/importertest"
	"github.com/stampede-perf/stampede/plan"
)

func importFile(t *testing.T, file string, o Options) (string, *plan.Plan) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := Read(f, file, o)
	if err != nil {
		t.Fatal(err)
	}
	data, pl := importertest.Check(t, p, t.TempDir())
	return string(data), pl
}

func steps(p *plan.Plan) map[string]*plan.Step {
	m := map[string]*plan.Step{}
	for _, st := range p.Scenarios[0].Steps {
		m[st.Name] = st
	}
	return m
}

// The hand-made recording of the demo shop: a page with a CSRF field, a
// login that returns a token, a catalogue, a cart, a checkout that returns
// an order id; static assets, a data: URL and a CORS preflight around them.
func TestHandMadeShop(t *testing.T) {
	data, p := importFile(t, "testdata/shop.har", Options{})
	if len(p.Scenarios) != 1 || p.Scenarios[0].Name != "Demo shop" || p.Target.BaseURL != "http://127.0.0.1:8080" {
		t.Fatalf("plan: %d scenarios, %q at %q", len(p.Scenarios), p.Scenarios[0].Name, p.Target.BaseURL)
	}
	var names []string
	for _, st := range p.Scenarios[0].Steps {
		names = append(names, st.Name)
	}
	want := []string{"GET /shop", "POST /api/auth/login", "GET /api/products", "GET /api/products/{products_id}", "POST /api/cart/add",
		"POST /api/checkout", "GET /api/orders/{order_id}", "POST /api/feedback"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Fatalf("steps:\n got %q\nwant %q", names, want)
	}
	s := steps(p)
	// Correlations: each value the server made is extracted where it
	// first appeared and referenced wherever it was sent.
	ex := func(step, name string) *plan.Extractor {
		t.Helper()
		e := s[step].Extract[name]
		if e == nil {
			t.Fatalf("%s extracts no %s (has %v)", step, name, s[step].Extract)
		}
		return e
	}
	if e := ex("GET /shop", "csrf_token"); !strings.Contains(e.Regex, `name="csrf_token" value="(`) {
		t.Errorf("csrf regex %q", e.Regex)
	}
	if e := ex("POST /api/auth/login", "token"); e.JSON != "token" {
		t.Errorf("token path %q", e.JSON)
	}
	if e := ex("GET /api/products", "products_id"); e.JSON != "products.1.id" {
		t.Errorf("product id path %q", e.JSON)
	}
	if e := ex("POST /api/checkout", "order_id"); e.JSON != "order_id" {
		t.Errorf("order id path %q", e.JSON)
	}
	checks := []struct{ got, want string }{
		{s["POST /api/auth/login"].Headers["X-CSRF-Token"], "{{ csrf_token }}"},
		{s["POST /api/cart/add"].Headers["Authorization"], "Bearer {{ token }}"},
		{s["GET /api/products/{products_id}"].Path, "/api/products/{{ products_id }}"},
		{s["POST /api/cart/add"].Body, `{"product_id":{{ products_id }},"quantity":1,"note":"gift {{ "{{" }}wrap}}"}`},
		{s["GET /api/orders/{order_id}"].Path, "/api/orders/{{ order_id }}"},
		{s["POST /api/feedback"].Body, "order={{ order_id }}&csrf={{ csrf_token }}&text=fast+%26+good"},
		// The user's own input is replayed, not correlated.
		{s["POST /api/auth/login"].Body, `{"email":"user1@shop.test","password":"pw-1"}`},
		{s["GET /api/products"].Path, "/api/products?page=1&limit=20"},
		{p.Target.Headers["Accept-Language"], "en-GB,en;q=0.9"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	// Values no later request sent are not extracted.
	for _, st := range p.Scenarios[0].Steps {
		for name := range st.Extract {
			if !strings.Contains(data, "{{ "+name+" }}") {
				t.Errorf("%s extracts %s, which nothing uses", st.Name, name)
			}
		}
		if _, ok := st.Headers["Cookie"]; ok {
			t.Errorf("%s replays a cookie", st.Name)
		}
	}
	// Think times are the recorded gaps: login ended at 2.550 s, the
	// catalogue started at 4.000 s.
	if th := s["POST /api/auth/login"].Think; th == nil || th.Min.D() != 1450*time.Millisecond {
		t.Errorf("think after login: %+v", th)
	}
	if th := s["POST /api/feedback"].Think; th != nil {
		t.Errorf("the last step thinks: %+v", th)
	}
	// A conditional request is asked again in full.
	if got := s["GET /api/products/{products_id}"].Check.Status; len(got) != 1 || got[0] != 200 {
		t.Errorf("304 became %v", got)
	}
	for _, c := range []string{"# ── page 2: Catalogue", "2 static assets", "1 CORS preflights", "Decide:"} {
		if !strings.Contains(data, c) {
			t.Errorf("the plan lacks %q", c)
		}
	}
}

func TestKeepStatic(t *testing.T) {
	_, p := importFile(t, "testdata/shop.har", Options{KeepStatic: true})
	s := steps(p)
	if s["GET /app.css"] == nil || s["GET /logo.png"] == nil {
		t.Errorf("static assets dropped with KeepStatic: %v", len(s))
	}
}

func TestErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"log": {"entries": [}`, "x.har:1:22: not a HAR file: invalid character '}'"},
		{"{\n  \"log\": {\n    \"entries\": 7\n  }\n}", "x.har:3:16: not a HAR file: log.entries is a JSON number, want an array"},
		{`{"name": "not a har"}`, "x.har: not a HAR file: no log.entries"},
		{`[1, 2]`, "x.har:1:1: not a HAR file: the document is a JSON array, want an object with log.entries"},
		{`<html></html>`, "x.har:1:1: not a HAR file: invalid character '<'"},
		{`{"log": {"entries": []}}`, "no request left to import"},
		{`{"log": {"entries": [{"startedDateTime": "yesterday", "request": {"method": "GET", "url": "http://h.test/"}, "response": {"status": 200}}]}}`,
			`log.entries[0].startedDateTime: "yesterday" is not an ISO 8601 time`},
		{`{"log": {"entries": [{"startedDateTime": "2026-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://h.test:0/"}, "response": {"status": 200}}]}}`,
			`log.entries[0].request.url: port 0`},
	}
	for _, c := range cases {
		_, err := Import([]byte(c.in), "x.har", Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant …%s…", c.in, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("not one line: %q", err)
		}
	}
}

func FuzzImport(f *testing.F) {
	seed, err := os.ReadFile("testdata/shop.har")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"log":{"entries":[{"startedDateTime":"2026-01-01T00:00:00Z","time":5,"request":{"method":"POST","url":"http://h.test/a?x=12345","headers":[{"name":"X-Token","value":"abcdef"}],"postData":{"mimeType":"application/json","text":"{\"a\":\"abcdef\"}"}},"response":{"status":200,"headers":[{"name":"X-Next","value":"zzzzzz"}],"content":{"mimeType":"application/json","text":"{\"id\":12345,\"t\":\"zzzzzz{\"}"}}},{"startedDateTime":"2026-01-01T00:00:01Z","request":{"method":"GET","url":"http://h.test/b/12345/zzzzzz{?q=zzzzzz{"},"response":{"status":200,"content":{"text":"<p>value=\"zzzzzz{</p>"}}}]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := Import(in, "fuzz.har", Options{})
		importertest.Fuzzed(t, p, err)
	})
}

// A long recording: 1000 requests, each answered with a 200-item JSON list
// and each sending back an id from the answer before it. Values are looked
// up in an index, so the import stays linear in the recording's size.
func TestLongRecording(t *testing.T) {
	var entries []string
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		var items []string
		for k := range 200 {
			items = append(items, fmt.Sprintf(`{"id":"item-%d-%d","n":%d}`, i, k, k))
		}
		body := strings.ReplaceAll(`{"items":[`+strings.Join(items, ",")+`]}`, `"`, `\"`)
		path := "/list"
		if i > 0 {
			path = fmt.Sprintf("/item/item-%d-7", i-1)
		}
		entries = append(entries, fmt.Sprintf(`{"startedDateTime":%q,"time":1,"request":{"method":"GET","url":"http://127.0.0.1:8080%s"},`+
			`"response":{"status":200,"content":{"mimeType":"application/json","text":"%s"}}}`,
			start.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), path, body))
	}
	doc := []byte(`{"log":{"version":"1.2","entries":[` + strings.Join(entries, ",") + `]}}`)
	began := time.Now()
	p, err := Import(doc, "long.har", Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d MiB, %d requests imported in %v", len(doc)>>20, len(p.Scenarios[0].Steps), time.Since(began))
	_, pl := importertest.Check(t, p, t.TempDir())
	last := pl.Scenarios[0].Steps[999]
	if last.Path != "/item/{{ items_id_999 }}" {
		t.Errorf("last path %q", last.Path)
	}
	if ex := pl.Scenarios[0].Steps[998].Extract["items_id_999"]; ex == nil || ex.JSON != "items.7.id" {
		t.Errorf("extract %+v", ex)
	}
}

// Firefox and proxies write no _resourceType: static assets are told by
// their type and extension; a form may come as params without text.
func TestWithoutResourceTypes(t *testing.T) {
	doc := `{"log":{"version":"1.2","creator":{"name":"Firefox","version":"133.0"},"entries":[
 {"startedDateTime":"2026-01-01T10:00:00.000+01:00","time":3,"request":{"method":"GET","url":"https://shop.test/static/app.js?v=3","headers":[]},
  "response":{"status":200,"headers":[],"content":{"mimeType":"application/javascript","text":"x"}}},
 {"startedDateTime":"2026-01-01T10:00:00.010+01:00","time":3,"request":{"method":"GET","url":"https://shop.test/img/logo","headers":[]},
  "response":{"status":200,"headers":[],"content":{"mimeType":"image/png"}}},
 {"startedDateTime":"2026-01-01T10:00:00.020+01:00","time":3,"request":{"method":"GET","url":"https://shop.test/fonts/a.woff2","headers":[]},
  "response":{"status":200,"headers":[],"content":{"mimeType":"application/octet-stream"}}},
 {"startedDateTime":"2026-01-01T10:00:00.030+01:00","time":20,"request":{"method":"POST","url":"https://shop.test/login","headers":[{"name":"Content-Type","value":"application/x-www-form-urlencoded"}],
  "postData":{"mimeType":"application/x-www-form-urlencoded","params":[{"name":"user","value":"ann"},{"name":"next","value":"/a b"}]}},
  "response":{"status":302,"headers":[{"name":"Location","value":"/home"},{"name":"X-Session","value":"s3ss10n-abcdef"}],"content":{"mimeType":"text/html"}}},
 {"startedDateTime":"2026-01-01T10:00:03.050+01:00","time":5,"request":{"method":"GET","url":"https://shop.test/home","headers":[{"name":"X-Session","value":"s3ss10n-abcdef"}]},
  "response":{"status":200,"headers":[],"content":{"mimeType":"text/html","text":"<p>hi</p>"}}}]}}`
	p, err := Import([]byte(doc), "firefox.har", Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, pl := importertest.Check(t, p, t.TempDir())
	s := pl.Scenarios[0].Steps
	if len(s) != 2 || pl.Target.BaseURL != "https://shop.test" {
		t.Fatalf("%d steps at %s", len(s), pl.Target.BaseURL)
	}
	if s[0].Body != "user=ann&next=%2Fa+b" || s[0].Check.Status[0] != 302 || s[0].Extract["x_session"].Header != "X-Session" {
		t.Errorf("login: body %q, status %v, extract %+v", s[0].Body, s[0].Check.Status, s[0].Extract)
	}
	if s[1].Headers["X-Session"] != "{{ x_session }}" || s[0].Think.Min.D() != 3*time.Second {
		t.Errorf("home: header %q, think %v", s[1].Headers["X-Session"], s[0].Think)
	}
}

// FuzzCorrelation feeds arbitrary responses and later requests through
// correlation (the HAR around them is always well formed): whatever they
// hold, the plan must compile, and a reference must have its extract.
func FuzzCorrelation(f *testing.F) {
	f.Add(`{"token":"abc123def","id":7}`, "application/json", "X-Next: n3xt-v4lue", "/orders/7?t=abc123def", `{"t":"abc123def","id":7}`)
	f.Add(`<input type="hidden" name="csrf" value="Zx81-kq0Lmw9RtUv">`, "text/html", "", "/form", "csrf=Zx81-kq0Lmw9RtUv&x={")
	f.Add(`{"a":{"b.c":["x{{y1234"]}}`, "application/json", "", "/p/x{{y1234/", `{x{{y1234}`)
	f.Fuzz(func(t *testing.T, respBody, mime, respHeader, path, reqBody string) {
		name, value, _ := strings.Cut(respHeader, ":")
		entry := func(at int, method, p, body, rmime, rbody string, hdr []map[string]string) map[string]any {
			e := map[string]any{
				"startedDateTime": time.Date(2026, 1, 1, 0, 0, at, 0, time.UTC).Format(time.RFC3339Nano), "time": 5,
				"request":  map[string]any{"method": method, "url": "http://127.0.0.1:8080" + p, "headers": []map[string]string{{"name": "Content-Type", "value": "application/x-www-form-urlencoded"}}},
				"response": map[string]any{"status": 200, "headers": hdr, "content": map[string]any{"mimeType": rmime, "text": rbody}},
			}
			if body != "" {
				e["request"].(map[string]any)["postData"] = map[string]any{"mimeType": "application/json", "text": body}
			}
			return e
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		doc, err := json.Marshal(map[string]any{"log": map[string]any{"entries": []any{
			entry(0, "GET", "/first", "", mime, respBody, []map[string]string{{"name": strings.TrimSpace(name), "value": strings.TrimSpace(value)}}),
			entry(1, "POST", path, reqBody, "text/plain", "", nil),
		}}})
		if err != nil {
			return
		}
		p, err := Import(doc, "fuzz.har", Options{})
		importertest.Fuzzed(t, p, err)
	})
}
