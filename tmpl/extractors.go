package tmpl

import (
	"maps"
	"slices"

	"github.com/stampede-perf/stampede/plan"
)

// Extractors are a step's extractors by variable name, for the runners
// that read one message body (WebSocket, gRPC): compiled once, applied in
// name order.
type Extractors []namedExtractor

type namedExtractor struct {
	name string
	x    *Extractor
}

// CompileExtractors compiles m; a problem names the variable whose
// extractor has it.
func CompileExtractors(m map[string]*plan.Extractor) (Extractors, string, error) {
	var out Extractors
	for _, k := range slices.Sorted(maps.Keys(m)) {
		x, err := CompileExtractor(m[k])
		if err != nil {
			return nil, k, err
		}
		out = append(out, namedExtractor{k, x})
	}
	return out, "", nil
}

// Names lists the variables the extractors set.
func (xs Extractors) Names() []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.name
	}
	return out
}

// Apply sets each variable in s from body (s may be nil); it stops at the
// first extractor that finds nothing and returns its variable.
func (xs Extractors) Apply(body []byte, s *State) (missed string, ok bool) {
	for _, x := range xs {
		v, ok := x.x.Extract(body, nil)
		if !ok {
			return x.name, false
		}
		if s != nil {
			s.Set(x.name, v)
		}
	}
	return "", true
}
