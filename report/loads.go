package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/report/render"
	"github.com/stampede-perf/stampede/result"
)

// A run of several named loads shows one row per load beside the overall
// numbers: each load's requests are its own scenarios', so the rows add
// up to the overall one; its thresholds are listed with the run's, marked
// with the load they belong to.

// loadThresholds are the loads' own thresholds, as rows naming their load.
func loadThresholds(r *result.Run) []thresholdRow {
	var out []thresholdRow
	for _, l := range r.Loads {
		for _, t := range l.Thresholds {
			out = append(out, thresholdRow{"load " + l.Name, t})
		}
	}
	return out
}

// loadStart is when a load started, for its row.
func loadStart(l result.LoadResult) string {
	if l.StartS == 0 {
		return "0s"
	}
	return numText(l.StartS) + "s"
}

// consoleLoads prints the loads' table and their thresholds.
func consoleLoads(ew *errWriter, r *result.Run) {
	if len(r.Loads) == 0 {
		return
	}
	ew.printf("\nloads\n")
	tw := render.Table(ew, render.Right)
	tagged := loadsTagged(r)
	tagHead := ""
	if tagged {
		tagHead = "tags\t"
	}
	fmt.Fprintf(tw, "  \tmodel\tstart\trequests\trps\terr%%\tp50\tp95\tp99\tasked/s\tVUs\tdropped\t%s\n", tagHead)
	for _, l := range r.Loads {
		asked := "-"
		if l.TargetRPS > 0 {
			asked = fmt.Sprintf("%.1f", l.TargetRPS)
		}
		tags := ""
		if tagged {
			tags = truncate(tagsText(l.Tags), 60) + "\t"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%.1f\t%.2f\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", truncate(l.Name, 32), l.Model, loadStart(l),
			l.Requests, l.RPS, 100*l.ErrorRate, f(l.Latency.P50), f(l.Latency.P95), f(l.Latency.P99), asked, l.MaxVUs, l.Dropped, tags)
	}
	tw.Flush()
	for _, t := range loadThresholds(r) {
		consoleThreshold(ew, t.Phase, t.ThresholdResult)
	}
}

// mdLoads writes the loads' table.
func mdLoads(ew *errWriter, r *result.Run) {
	if len(r.Loads) == 0 {
		return
	}
	tagged := loadsTagged(r)
	ew.printf("| load | model | start | requests | throughput | errors | p50 | p95 | p99 | VUs | dropped |")
	if tagged {
		ew.printf(" tags |")
	}
	ew.printf("\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	if tagged {
		ew.printf("---|")
	}
	ew.printf("\n")
	for _, l := range r.Loads {
		ew.printf("| %s | %s | %s | %d | %s/s | %s | %s ms | %s ms | %s ms | %d | %d |", render.Markdown(l.Name), l.Model, loadStart(l),
			l.Requests, numText(l.RPS), pctText(l.ErrorRate), f(l.Latency.P50), f(l.Latency.P95), f(l.Latency.P99), l.MaxVUs, l.Dropped)
		if tagged {
			ew.printf(" %s |", render.Markdown(tagsText(l.Tags)))
		}
		ew.printf("\n")
	}
	ew.printf("\n")
}

// loadsTagged reports whether any load of r has tags: only then do the
// loads' tables have a tags column.
func loadsTagged(r *result.Run) bool {
	for _, l := range r.Loads {
		if len(l.Tags) > 0 {
			return true
		}
	}
	return false
}

// tagsText is a load's tags as "key=value" pairs in key order.
func tagsText(tags map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + tags[k])
	}
	return b.String()
}
