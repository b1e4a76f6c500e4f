package monitor

import (
	"encoding/json"
	"net/http"

	"github.com/stampede-perf/stampede/store"
	"github.com/stampede-perf/stampede/web"
)

// maxPageRuns bounds the recent checks the status page shows.
const maxPageRuns = 200

// Handler serves the monitor's status page (/), its state as JSON
// (/api/state) and its metrics (/metrics). It only reads.
func (m *Monitor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /assets/", web.Assets())
	mux.Handle("GET /{$}", web.PageHandler("monitor.html"))
	mux.Handle("GET /metrics", m.Metrics())
	mux.HandleFunc("GET /api/state", m.stateJSON)
	return mux
}

// pageRun is one recent check on the status page.
type pageRun struct {
	ID        string  `json:"id"`
	Started   int64   `json:"started"` // Unix seconds
	P95       float64 `json:"p95"`
	ErrorRate float64 `json:"error_rate"`
	Healthy   bool    `json:"healthy"` // its verdict was pass
}

func (m *Monitor) stateJSON(w http.ResponseWriter, r *http.Request) {
	es, err := m.st.List(r.Context(), store.Filter{Plan: m.name, Limit: maxPageRuns})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	runs := []pageRun{}
	for _, e := range es {
		if _, ok := e.Tags["monitor"]; !ok || e.State == store.StateRunning {
			continue
		}
		runs = append(runs, pageRun{ID: e.ID, Started: e.StartedAt.Unix(), P95: e.P95, ErrorRate: e.ErrorRate, Healthy: e.Verdict == "pass"})
	}
	m.mu.Lock()
	s := m.state
	m.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{"plan": m.name, "state": s, "runs": runs})
}
