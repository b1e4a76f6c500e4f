package bench

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestDocExample checks the `stampede bench compare` example in the
// documentation against what Compare prints for the same files.
func TestDocExample(t *testing.T) {
	const marker = "$ stampede bench compare old.txt new.txt\n"
	var doc string
	for _, path := range []string{"../docs/benchmarks.md", "../README.md"} {
		data, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(data), marker) {
			doc = string(data)
			break
		}
	}
	if doc == "" {
		t.Fatalf("no documentation contains the example %q", strings.TrimSpace(marker))
	}
	block := doc[strings.Index(doc, marker)+len(marker):]
	block = block[:strings.Index(block, "```")]

	old, new := readSet(t, "testdata/old.txt"), readSet(t, "testdata/new.txt")
	old.Label, new.Label = "old.txt", "new.txt"
	var b bytes.Buffer
	if err := Compare(old, new, CompareOptions{}).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	// The documentation shows the first table.
	got, _, _ := strings.Cut(b.String(), "\n\n")
	if got+"\n" != block {
		t.Errorf("the documented example is out of date; the output is now:\n%s", got)
	}
}
