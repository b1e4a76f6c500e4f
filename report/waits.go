package report

import (
	"fmt"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// waitLines is where the time of requests goes (system.waits), one line
// per state, largest first: its share, its time per request when known,
// and the own functions that spend it.
func waitLines(w *result.Waits) []string {
	if w == nil {
		return nil
	}
	var out []string
	for _, st := range w.States {
		line := fmt.Sprintf("%-10s %5.1f%%", st.State, st.Pct)
		if st.MSPerReq > 0 {
			line += fmt.Sprintf("  %8s ms/request", numText(st.MSPerReq))
		}
		if sites := waitSites(st); sites != "" {
			line += "  " + sites
		}
		out = append(out, line)
	}
	return out
}

// waitSites names a state's sites: "fetchPrices → http.(*Client).do 48%".
func waitSites(st result.WaitState) string {
	var parts []string
	for _, s := range st.Sites {
		p := shortName(s.Function)
		if s.Via != "" {
			p += " → " + shortName(s.Via)
		}
		if s.Detail != "" && s.Detail != "http" {
			p += " (" + s.Detail + ")"
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%%", p, s.Pct))
	}
	return strings.Join(parts, ", ")
}

func waitDetail(w *result.Waits) string {
	return fmt.Sprintf("(goroutines serving requests, %d snapshots, %s in flight on average)", w.Snapshots, numText(w.InRequest))
}

// consoleWaits writes where request time goes.
func consoleWaits(ew *errWriter, r *result.Run) {
	if r.System == nil || r.System.Waits == nil {
		return
	}
	ew.printf("\nwhere request time goes %s\n", waitDetail(r.System.Waits))
	for _, l := range waitLines(r.System.Waits) {
		ew.printf("  %s\n", l)
	}
}

// mdWaits writes where request time goes as a code block.
func mdWaits(ew *errWriter, r *result.Run) {
	if r.System == nil || r.System.Waits == nil {
		return
	}
	ew.printf("**Where request time goes** %s\n\n```\n", waitDetail(r.System.Waits))
	for _, l := range waitLines(r.System.Waits) {
		ew.printf("%s\n", l)
	}
	ew.printf("```\n\n")
}
