package result

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		why     string
		doc     string
		notRun  bool   // the error is ErrNotRun
		message string // the error says this; "" means no error
	}{
		{"minimal document", `{"version":1,"kind":"load"}`, false, ""},
		{"unknown keys are ignored (fields are only ever added)", `{"version":1,"kind":"load","from_the_future":{"x":1}}`, false, ""},
		{"no version", `{"kind":"load"}`, true, `no "version" key`},
		{"version zero", `{"version":0}`, true, `no "version" key`},
		{"newer version", `{"version":99}`, false, "upgrade stampede"},
		{"not JSON", `version: 1`, true, "not a stampede run document"},
		{"empty input", ``, true, "not a stampede run document"},
		{"a JSON array", `[1,2]`, true, "not a stampede run document"},
		{"a wrongly typed key", `{"version":1,"summary":{"requests":"many"}}`, true, "not a stampede run document"},
	} {
		r, err := Decode(strings.NewReader(tc.doc))
		switch {
		case tc.message == "" && err != nil:
			t.Errorf("%s: %v", tc.why, err)
		case tc.message == "" && r.Version != 1:
			t.Errorf("%s: version %d", tc.why, r.Version)
		case tc.message != "" && (err == nil || !strings.Contains(err.Error(), tc.message)):
			t.Errorf("%s: error %v, want one saying %q", tc.why, err, tc.message)
		case tc.message != "" && errors.Is(err, ErrNotRun) != tc.notRun:
			t.Errorf("%s: errors.Is(%v, ErrNotRun) = %v, want %v", tc.why, err, !tc.notRun, tc.notRun)
		}
	}
}

func sampleRun() *Run {
	start := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("", 3600))
	return &Run{Version: Version, ID: "r1", Kind: "load", Plan: "shop", StartedAt: start, EndedAt: start.Add(time.Minute),
		Tags: map[string]string{"b": "2", "a": "1"}, Host: &Host{OS: "linux", Arch: "amd64", Cores: 2},
		Summary:    Summary{Requests: 10, RPS: 1.5, Latency: Latency{P99: 12.25}},
		Steps:      []StepResult{{Scenario: "s", Step: "home", Requests: 10}},
		Series:     []Window{{TS: 0, Requests: 10, ErrKinds: map[string]int64{"timeout": 1}, Steps: []StepWindow{{Index: 0, Requests: 10}}}},
		Errors:     []ErrorCount{{Kind: "http_5xx", Status: 502, Count: 1, Example: "bad gateway \x00 <html>"}},
		Comparison: &Comparison{Base: "a", New: "b", Rows: []ComparisonRow{{Name: "overall", Metric: "p99", Verdict: "~"}}}}
}

func TestWriteFileReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	if err := os.WriteFile(path, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := sampleRun()
	if err := WriteFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	Encode(&a, want)
	Encode(&b, got)
	if a.String() != b.String() {
		t.Fatalf("round trip through a file changed the document:\n%s\n%s", a.String(), b.String())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left next to the document: %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "run.json"), want); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
	if _, err := ReadFile(filepath.Join(dir, "nope.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reading a missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"kind":"load"}`), 0o644)
	if _, err := ReadFile(bad); !errors.Is(err, ErrNotRun) || !strings.Contains(err.Error(), bad) {
		t.Errorf("a document without a version: %v, want ErrNotRun naming the file", err)
	}
}

func TestEncodeIsStable(t *testing.T) {
	// Map keys are sorted and the output ends in a newline, so two
	// encodings of one Run are byte-identical (diffs and golden files).
	var a, b bytes.Buffer
	Encode(&a, sampleRun())
	Encode(&b, sampleRun())
	if a.String() != b.String() || !strings.HasSuffix(a.String(), "}\n") {
		t.Fatal("encoding is not deterministic")
	}
	if strings.Index(a.String(), `"a": "1"`) > strings.Index(a.String(), `"b": "2"`) {
		t.Error("tags not in key order")
	}
}

// FuzzDecode: Decode never panics, accepts only versions it knows, and
// whatever it accepts encodes and decodes back to the same document.
// Seeds are in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	Encode(&buf, sampleRun())
	f.Add(buf.Bytes())
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode(bytes.NewReader(data))
		if err != nil {
			if r != nil {
				t.Fatal("Decode returned a Run with an error")
			}
			return
		}
		// The documented contract: a version is present and not newer
		// than this build.
		if r.Version == 0 || r.Version > Version {
			t.Fatalf("accepted version %d", r.Version)
		}
		var once bytes.Buffer
		if err := Encode(&once, r); err != nil {
			t.Fatalf("a decoded Run does not encode: %v", err)
		}
		again, err := Decode(bytes.NewReader(once.Bytes()))
		if err != nil {
			t.Fatalf("an encoded Run does not decode: %v\n%s", err, once.String())
		}
		var twice bytes.Buffer
		Encode(&twice, again)
		if once.String() != twice.String() {
			t.Fatalf("encode/decode is not stable:\n%s\n%s", once.String(), twice.String())
		}
	})
}
