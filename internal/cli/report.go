package cli

import (
	"fmt"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// parseReports checks --report FORMAT=FILE specs.
func parseReports(specs []string) ([]string, error) {
	for _, s := range specs {
		kind, path, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("--report %q: want FORMAT=FILE, e.g. html=report.html", s)
		}
		switch kind {
		case "json":
		default:
			return nil, fmt.Errorf("--report %q: unknown format %q (use json)", s, kind)
		}
	}
	return specs, nil
}

// writeReports renders run in every --report format.
func writeReports(run *result.Run, specs []string) error {
	for _, s := range specs {
		kind, path, _ := strings.Cut(s, "=")
		switch kind {
		case "json":
			if err := result.WriteFile(path, run); err != nil {
				return fmt.Errorf("cannot write %s: %v", path, err)
			}
		}
	}
	return nil
}
