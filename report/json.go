package report

import (
	"io"

	"github.com/stampede-perf/stampede/result"
)

// JSON writes r as the Run document itself, with whatever findings,
// recommendations and rules not evaluated it holds.
func JSON(w io.Writer, r *result.Run) error { return result.Encode(w, r) }
