package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/stampede-perf/stampede/internal/outfile"
	"github.com/stampede-perf/stampede/output"
	"github.com/stampede-perf/stampede/output/csv"
	"github.com/stampede-perf/stampede/output/otlp"
	"github.com/stampede-perf/stampede/output/prometheus"
	"github.com/stampede-perf/stampede/plan"
)

// checkLive checks a live output's target before anything runs.
func checkLive(kind, target string) (output.Spec, error) {
	var err error
	switch kind {
	case "csv":
		if outfile.IsStdout(target) {
			err = errors.New("write the CSV to a file: standard output holds the summary")
		} else {
			err = outfile.Check(target)
		}
	case "prometheus":
		_, err = prometheus.ParseAddr(target)
	case "otlp":
		_, err = otlp.ParseURL(target)
	}
	return output.Spec{Kind: kind, Target: target}, err
}

// startLive opens the live outputs (creates the CSV files, binds the
// Prometheus endpoints, starts the dashboard) and fans the run's windows
// out to them; nil when there are none. A target that cannot be opened is
// invalid input, and nothing is left open. The step series carry the
// labels of the plan's loads (liveLabels).
func startLive(ctx context.Context, e *env, outs outputs, m dashboardMeta, labels output.Labels) (*liveRun, error) {
	if len(outs.live) == 0 && outs.dashboard == "" {
		return nil, nil
	}
	var sinks []output.Sink
	for _, sp := range outs.live {
		var s output.Sink
		var err error
		switch sp.Kind {
		case "csv":
			s, err = csv.New(sp.Target, labels)
		case "prometheus":
			var ps *prometheus.Sink
			if ps, err = prometheus.New(sp.Target, labels); err == nil {
				fmt.Fprintf(e.stderr, "prometheus: serving %s while the run goes\n", ps.URL())
				s = ps
			}
		case "otlp":
			s, err = otlp.New(ctx, sp.Target, otlp.Options{})
		}
		if err != nil {
			for _, o := range sinks {
				o.Close(nil)
			}
			return nil, invalidf("--out %s=%s: %v", sp.Kind, sp.Target, err)
		}
		sinks = append(sinks, s)
	}
	lr := &liveRun{}
	if outs.dashboard != "" {
		d, err := startDashboard(e, outs.dashboard, m)
		if err != nil {
			for _, o := range sinks {
				o.Close(nil)
			}
			return nil, err
		}
		lr.dash = d
		sinks = append(sinks, d)
	}
	lr.fan = output.NewFan(sinks...)
	return lr, nil
}

// liveLabels are the labels plan p's loads add to the live outputs'
// step series: the load's name and its tags (none without `loads:`).
func liveLabels(p *plan.Plan) output.Labels {
	tags := make([]map[string]string, len(p.Loads))
	for i, l := range p.Loads {
		tags[i] = l.Tags
	}
	return output.NewLabels(len(p.Loads) > 0, tags...)
}

// liveFinished adds what went wrong in the live outputs to the command's
// outcome: an output that could not be written is exit 2 when nothing
// else failed, a message beside the other failure when something did.
func liveFinished(e *env, liveErr, err error) error {
	if liveErr == nil {
		return err
	}
	if err == nil {
		return invalidf("live outputs: %v", liveErr)
	}
	fmt.Fprintf(e.stderr, "stampede: live outputs: %v\n", liveErr)
	return err
}
