package report

import "testing"

// The Run document is a public contract: the JSON of a run with every
// section, concluded, is byte for byte the golden file (refreshed only
// with -update, for an intended change of the document).
func TestJSONGolden(t *testing.T) {
	golden(t, "rich.golden.json", renderRun(t, JSON, richRun()))
	golden(t, "bare.golden.json", renderRun(t, JSON, bareRun()))
}
