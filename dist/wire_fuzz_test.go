package dist

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// FuzzAgentWindows feeds the coordinator's merger and live run what an
// agent may send: any message body, decoded as the wire's up messages,
// their windows added for agents 0 and 1 in turn. Whatever arrives — a
// time of NaN or 1e300, step indexes past the plan's, histograms that do
// not decode, counts that overflow — the merger and the live run return
// windows or errors and never panic, and a window they emit comes out in
// time order.
func FuzzAgentWindows(f *testing.F) {
	h := metrics.NewHist()
	h.RecordValue(1500)
	enc, err := metrics.Encode(h)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(up{Window: &result.Window{TS: 0, Requests: 1, RPS: 1, VUs: 1, Hist: enc,
		Steps: []result.StepWindow{{Index: 0, Requests: 1, Hist: enc}}}})
	f.Add(good, good)
	f.Add([]byte(`{"window":{"t_s":1e300,"requests":-1,"steps":[{"i":99,"hist":"x"}]}}`), []byte(`{"window":{"t_s":-5}}`))
	f.Add([]byte(`{"window":{"t_s":0,"hist":"HISTFAAAAB54nJNpmSzMwMDAzQABzFCaEUzOmQEA"}}`), []byte(`{"done":{}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		m := newMerger(2)
		live := NewLive("p", result.ModelClosed, []result.StepResult{{Scenario: "s", Step: "x"}}, []result.ScenarioResult{{Name: "s", Weight: 1}})
		now := time.Unix(0, 0)
		last := math.Inf(-1)
		emit := func(ws []result.Window) {
			for _, w := range ws {
				if w.TS < last {
					t.Fatalf("window at %g emitted after %g", w.TS, last)
				}
				last = w.TS
				live.Add(w)
			}
		}
		for i, body := range [][]byte{a, b} {
			var u up
			if json.Unmarshal(body, &u) != nil || u.Window == nil {
				continue
			}
			ws, _ := m.add(i, *u.Window, now)
			emit(ws)
			now = now.Add(time.Second)
		}
		ws, _ := m.ready(now.Add(time.Hour), true)
		emit(ws)
	})
}
