package analyze

import (
	"cmp"
	"slices"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/stats"
)

// connectionFrames are the frames of goroutines that exist per open
// connection (a server's connection and its reader, a client's pooled
// connection, HTTP/2 and gRPC transports): their number follows the load
// and the client's connections, not a leak.
var connectionFrames = []string{
	"net/http.(*conn).serve",
	"net/http.(*connReader).backgroundRead",
	"net/http.(*persistConn).",
	"net/http.(*http2serverConn).",
	"net/http.(*http2ClientConn).",
	"golang.org/x/net/http2.",
	"google.golang.org/grpc/internal/transport.",
}

func isConnectionFrame(name string) bool {
	return slices.ContainsFunc(connectionFrames, func(p string) bool {
		return name == p || (strings.HasSuffix(p, ".") && strings.HasPrefix(name, p))
	})
}

// GoroutineTrendOf is the goroutine count's trend over the timeline's
// points from steadyFrom (seconds since run start) on, with the stacks
// that grew between the goroutine profiles start and end (either may be
// nil). nil when fewer than 5 points hold a count.
func GoroutineTrendOf(timeline []result.SystemPoint, steadyFrom float64, start, end *profile.Profile, m *result.Module) *result.GoroutineTrend {
	return goroutineTrend(timeline, steadyFrom, start, end, newOwnCode(m))
}

func goroutineTrend(timeline []result.SystemPoint, steadyFrom float64, start, end *profile.Profile, oc ownCode) *result.GoroutineTrend {
	var xs, ys []float64
	for _, p := range timeline {
		if p.TS >= steadyFrom && p.Goroutines > 0 {
			xs, ys = append(xs, p.TS), append(ys, p.Goroutines)
		}
	}
	if len(xs) < 5 {
		return nil
	}
	tr := stats.TrendTest(xs, ys, 0.99)
	slope, p := tr.Slope, tr.P
	g := &result.GoroutineTrend{Start: ys[0], End: ys[len(ys)-1], PerMin: 60 * slope, PValue: p, Points: len(xs), FromS: xs[0], WindowS: xs[len(xs)-1] - xs[0]}
	g.TopGrowth = goroutineGrowth(start, end, oc, profileTop)
	g.Profiled = start != nil && end != nil
	return g
}

// goroutineGrowth is the n places with the most more goroutines in end
// than in start, each place the own function nearest the top of the
// stack and its leaf (see GoroutineGrowth); goroutines of requests and
// connections left out.
func goroutineGrowth(start, end *profile.Profile, oc ownCode, n int) []result.GoroutineGrowth {
	if start == nil || end == nil {
		return nil
	}
	type place struct{ fn, via string }
	own := map[string]bool{}
	count := func(p *profile.Profile, sign int64, into map[place]int64) {
		for _, s := range p.Sample {
			if len(s.Value) == 0 || s.Value[0] <= 0 {
				continue
			}
			frames, files := stackFrames(s.Location)
			if len(frames) == 0 || slices.ContainsFunc(frames, func(f string) bool {
				return slices.Contains(requestMarkers, f) || isConnectionFrame(f) || isObserverFrame(f)
			}) {
				continue
			}
			pl := place{via: frames[0]}
			for i, f := range frames {
				if oc.own(f, files[i]) {
					pl.fn = f
					own[f] = true
					break
				}
			}
			if pl.fn == "" {
				pl.fn = frames[len(frames)-1] // the goroutine's own function
			}
			into[pl] += sign * s.Value[0]
		}
	}
	diff := map[place]int64{}
	count(start, -1, diff)
	count(end, 1, diff)
	var places []place
	for pl, d := range diff {
		if d > 0 {
			places = append(places, pl)
		}
	}
	slices.SortFunc(places, func(a, b place) int {
		if c := cmp.Compare(diff[b], diff[a]); c != 0 {
			return c
		}
		return cmp.Compare(a.fn+a.via, b.fn+b.via)
	})
	var out []result.GoroutineGrowth
	for _, pl := range places[:min(n, len(places))] {
		out = append(out, result.GoroutineGrowth{Function: pl.fn, Own: own[pl.fn], Via: pl.via, Added: diff[pl]})
	}
	return out
}
