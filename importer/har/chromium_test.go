package har

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/demo"
	"github.com/stampede-perf/stampede/importer/importertest"
	"github.com/stampede-perf/stampede/internal/chromium"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/suite"
)

// This test records a real browser session: headless Chromium, driven
// over the DevTools protocol (internal/chromium), opens a small page that logs in to the demo shop, browses, buys and
// reads the order back with fetch(). The network events become a HAR the
// way the browser's own "Save all as HAR" builds it, and the import must
// find the session token, the product id and the order id in it.

const journeyPage = `<!DOCTYPE html>
<html><head><title>Shop test page</title><link rel="stylesheet" href="/app.css"></head>
<body><img src="/logo.svg" alt="">
<script>
window.journey = (async () => {
  const call = async (method, path, body, token) => {
    const headers = {"Accept": "application/json"};
    if (body) headers["Content-Type"] = "application/json";
    if (token) headers["Authorization"] = "Bearer " + token;
    const r = await fetch(path, {method, headers, body: body ? JSON.stringify(body) : undefined});
    if (!r.ok) throw new Error(method + " " + path + ": " + r.status);
    return r.json();
  };
  const login = await call("POST", "/api/auth/login", {email: "EMAIL", password: "PASSWORD"});
  const list = await call("GET", "/api/products?page=1&limit=5");
  const product = list.products[2];
  await call("GET", "/api/products/" + product.id);
  await call("POST", "/api/cart/add", {product_id: product.id, quantity: 1}, login.token);
  const order = await call("POST", "/api/checkout", null, login.token);
  const got = await call("GET", "/api/orders/" + order.order_id, null, login.token);
  return JSON.stringify({order: got.id, product: product.id});
})();
</script></body></html>`

// shopWithPage serves the demo shop's API and the journey page beside it.
func shopWithPage(t *testing.T) *httptest.Server {
	shop, err := demo.New(context.Background(), demo.Options{Products: 50, Users: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shop.Close() })
	users, err := csv.NewReader(bytes.NewReader(demo.UsersCSV(1))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	page := strings.NewReplacer("EMAIL", users[1][0], "PASSWORD", users[1][1]).Replace(journeyPage)
	mux := http.NewServeMux()
	mux.Handle("/api/", shop.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	})
	mux.HandleFunc("GET /app.css", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		w.Write([]byte("body { font-family: sans-serif }"))
	})
	mux.HandleFunc("GET /logo.svg", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>`))
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/x-icon")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// recordHAR opens url in a new tab, waits for window.journey, and builds
// a HAR from the network events.
func recordHAR(t *testing.T, d *chromium.Browser, url string) ([]byte, string) {
	res, err := d.Call("", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err != nil {
		t.Fatal(err)
	}
	res, err = d.Call("", "Target.attachToTarget", map[string]any{"targetId": res["targetId"], "flatten": true})
	if err != nil {
		t.Fatal(err)
	}
	s := res["sessionId"].(string)
	for _, m := range []string{"Page.enable", "Network.enable", "Runtime.enable"} {
		if _, err := d.Call(s, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	start := len(d.Events)
	if _, err := d.Call(s, "Page.navigate", map[string]any{"url": url}); err != nil {
		t.Fatal(err)
	}
	var result string
	for i := 0; ; i++ {
		// The page's script defines window.journey once it has run.
		res, err := d.Call(s, "Runtime.evaluate", map[string]any{"expression": "window.journey", "awaitPromise": true, "returnByValue": true})
		if err != nil {
			t.Fatal(err)
		}
		if ex, ok := res["exceptionDetails"]; ok {
			t.Fatalf("the journey failed: %v", ex)
		}
		r, _ := res["result"].(map[string]any)
		if v, ok := r["value"].(string); ok {
			result = v
			break
		}
		if i == 100 {
			t.Fatal("the page never ran its journey")
		}
		if _, err := d.Call(s, "Runtime.evaluate", map[string]any{"expression": "new Promise(r => setTimeout(r, 50))", "awaitPromise": true}); err != nil {
			t.Fatal(err)
		}
	}
	// A last round trip lets the final loadingFinished events arrive.
	if _, err := d.Call(s, "Runtime.evaluate", map[string]any{"expression": "1"}); err != nil {
		t.Fatal(err)
	}

	type exchange struct {
		sent, resp, done map[string]any
	}
	byID := map[string]*exchange{}
	var order []string
	for _, e := range d.Events[start:] {
		if e["sessionId"] != s {
			continue
		}
		p, _ := e["params"].(map[string]any)
		id, _ := p["requestId"].(string)
		switch e["method"] {
		case "Network.requestWillBeSent":
			if byID[id] == nil {
				byID[id] = &exchange{}
				order = append(order, id)
			}
			byID[id].sent = p
		case "Network.responseReceived":
			if x := byID[id]; x != nil {
				x.resp = p
			}
		case "Network.loadingFinished":
			if x := byID[id]; x != nil {
				x.done = p
			}
		}
	}
	headers := func(m any) []map[string]string {
		var out []map[string]string
		hm, _ := m.(map[string]any)
		for k, v := range hm {
			out = append(out, map[string]string{"name": k, "value": fmt.Sprint(v)})
		}
		return out
	}
	var entries []map[string]any
	for _, id := range order {
		x := byID[id]
		if x.sent == nil || x.resp == nil || x.done == nil {
			continue
		}
		req := x.sent["request"].(map[string]any)
		resp := x.resp["response"].(map[string]any)
		wall := x.sent["wallTime"].(float64)
		started := time.Unix(0, int64(wall*1e9)).UTC()
		elapsed := (x.done["timestamp"].(float64) - x.sent["timestamp"].(float64)) * 1000
		body, err := d.Call(s, "Network.getResponseBody", map[string]any{"requestId": id})
		if err != nil {
			t.Fatalf("%s: %v", req["url"], err)
		}
		content := map[string]any{"mimeType": resp["mimeType"], "text": body["body"]}
		if b, _ := body["base64Encoded"].(bool); b {
			content["encoding"] = "base64"
		}
		request := map[string]any{"method": req["method"], "url": req["url"], "httpVersion": "HTTP/1.1", "headers": headers(req["headers"])}
		if has, _ := req["hasPostData"].(bool); has {
			post, _ := req["postData"].(string)
			if post == "" {
				pd, err := d.Call(s, "Network.getRequestPostData", map[string]any{"requestId": id})
				if err != nil {
					t.Fatal(err)
				}
				post, _ = pd["postData"].(string)
			}
			ct := ""
			for _, h := range headers(req["headers"]) {
				if strings.EqualFold(h["name"], "Content-Type") {
					ct = h["value"]
				}
			}
			request["postData"] = map[string]any{"mimeType": ct, "text": post}
		}
		typ, _ := x.sent["type"].(string)
		entries = append(entries, map[string]any{
			"pageref": "page_1", "startedDateTime": started.Format(time.RFC3339Nano), "time": math.Max(elapsed, 0),
			"_resourceType": strings.ToLower(typ), "request": request,
			"response": map[string]any{"status": int(resp["status"].(float64)), "headers": headers(resp["headers"]), "content": content},
		})
	}
	har, _ := json.MarshalIndent(map[string]any{"log": map[string]any{"version": "1.2",
		"creator": map[string]string{"name": "Chromium via DevTools", "version": "1"},
		"pages":   []map[string]any{{"id": "page_1", "title": "Shop test page"}},
		"entries": entries}}, "", "  ")
	return har, result
}

func TestChromiumRecording(t *testing.T) {
	d := chromium.Start(t, "no session was recorded in a browser")
	srv := shopWithPage(t)
	har, result := recordHAR(t, d, srv.URL+"/")
	var got struct{ Order, Product int }
	if err := json.Unmarshal([]byte(result), &got); err != nil || got.Order == 0 || got.Product == 0 {
		t.Fatalf("journey result %q: %v", result, err)
	}
	if os.Getenv("STAMPEDE_KEEP_HAR") != "" {
		os.WriteFile(os.Getenv("STAMPEDE_KEEP_HAR"), har, 0o644)
	}
	p, err := Import(har, "chromium.har", Options{})
	if err != nil {
		t.Fatal(err)
	}
	data, pl := importertest.Check(t, p, t.TempDir())
	var names []string
	for _, st := range pl.Scenarios[0].Steps {
		names = append(names, st.Name)
	}
	want := "GET /|POST /api/auth/login|GET /api/products|GET /api/products/{products_id}|POST /api/cart/add|POST /api/checkout|GET /api/orders/{order_id}"
	if strings.Join(names, "|") != want {
		t.Fatalf("steps (static assets dropped):\n got %s\nwant %s\n%s", strings.Join(names, "|"), want, data)
	}
	s := steps(pl)
	checks := []struct{ got, want string }{
		{s["POST /api/cart/add"].Headers["Authorization"], "Bearer {{ token }}"},
		{s["GET /api/orders/{order_id}"].Headers["Authorization"], "Bearer {{ token }}"},
		{s["POST /api/cart/add"].Body, `{"product_id":{{ products_id }},"quantity":1}`},
		{s["POST /api/auth/login"].Extract["token"].JSON, "token"},
		{s["GET /api/products"].Extract["products_id"].JSON, "products.2.id"},
		{s["POST /api/checkout"].Extract["order_id"].JSON, "order_id"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("got %q, want %q\n%s", c.got, c.want, data)
		}
	}
	if !strings.Contains(string(data), "# ── page 1: Shop test page") {
		t.Errorf("no page comment:\n%s", data)
	}

	// The plan replays the session against a fresh shop, where the
	// recorded token and ids mean nothing: one VU for a second.
	fresh := shopWithPage(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(file, bytes.ReplaceAll(data, []byte(srv.URL), []byte(fresh.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	run, err := plan.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	run.Load = plan.LoadSpec{VUs: 1, Duration: plan.Duration(time.Second)}
	r, err := suite.RunLoad(context.Background(), run, suite.LoadOptions{Getenv: importertest.Env})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("replayed: %d requests, %d errors in %d iterations", r.Summary.Requests, r.Summary.Errors, r.Summary.Requests/int64(len(names)))
	if r.Summary.Requests < int64(len(names)) || r.Summary.Errors != 0 {
		t.Errorf("the recorded session replayed %d requests with %d errors: %+v", r.Summary.Requests, r.Summary.Errors, r.Errors)
	}
}
