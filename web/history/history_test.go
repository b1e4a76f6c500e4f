package history

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
)

// The endpoints answer what the store holds, and refuse what is not
// there or not asked right with the status that says so.
func TestEndpoints(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []string
	for i, p95 := range []float64{10, 12, 30} {
		run := &result.Run{Version: result.Version, Kind: "load", Plan: "shop", StartedAt: time.Unix(1_700_000_000+int64(i)*60, 0),
			EndedAt: time.Unix(1_700_000_030+int64(i)*60, 0), Verdict: result.VerdictPass,
			Summary: result.Summary{Requests: 100, RPS: 50, Latency: result.Latency{P95: p95}},
			Steps:   []result.StepResult{{Scenario: "s", Step: "home", Requests: 100, Errors: int64(i), Latency: result.Latency{P95: p95 / 2}}}}
		id, err := st.Save(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := st.SetBaseline(ctx, "shop", ids[1]); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(st, Options{
		Report:  func(w io.Writer, r *result.Run) error { _, err := io.WriteString(w, "report of "+r.ID); return err },
		Compare: func(w io.Writer, b, h *result.Run) error { _, err := io.WriteString(w, b.ID+" vs "+h.ID); return err },
	}))
	defer srv.Close()
	get := func(path string, want int) []byte {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Errorf("%s: %d %s, want %d", path, resp.StatusCode, b, want)
		}
		return b
	}
	var trend []trendPoint
	json.Unmarshal(get("/api/trend?plan=shop&metric=p95", 200), &trend)
	if len(trend) != 3 || trend[0].Value != 10 || trend[2].Value != 30 || !trend[1].Baseline || trend[0].Baseline {
		t.Errorf("trend %+v: want 10, 12 (baseline), 30, oldest first", trend)
	}
	json.Unmarshal(get("/api/trend?plan=shop&metric=error_rate&step="+url.QueryEscape("s / home"), 200), &trend)
	if len(trend) != 3 || trend[0].Value != 0 || trend[2].Value != 0.02 {
		t.Errorf("step trend %+v: want error rates 0, 0.01, 0.02", trend)
	}
	var plans []planInfo
	json.Unmarshal(get("/api/plans", 200), &plans)
	if len(plans) != 1 || plans[0].Baseline != ids[1] {
		t.Errorf("plans %+v", plans)
	}
	if got := string(get("/api/compare?base="+ids[0]+"&head="+ids[2], 200)); got != ids[0]+" vs "+ids[2] {
		t.Errorf("compare: %q", got)
	}
	if got := string(get("/runs/"+ids[2]+"/report", 200)); got != "report of "+ids[2] {
		t.Errorf("report: %q", got)
	}
	get("/api/trend?plan=shop&metric=mean", 400)
	get("/api/runs", 400)
	get("/api/compare?base=nope&head="+ids[0], 404)
	get("/api/compare?base=/etc/passwd&head="+ids[0], 404) // never a file
	get("/runs/nope/report", 404)
	for _, m := range []string{"POST", "DELETE"} { // read-only
		req, _ := http.NewRequest(m, srv.URL+"/api/runs?plan=shop", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want 405", m, resp.StatusCode)
		}
	}
}
