package bench

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

func TestReadBenchfmtReportsEveryBadLine(t *testing.T) {
	s := NewSet("bad")
	f, err := os.Open("testdata/bad.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = s.ReadBenchfmt(f, "testdata/bad.txt")
	if !errors.Is(err, ErrParse) {
		t.Fatalf("err = %v, want ErrParse", err)
	}
	for _, want := range []string{"testdata/bad.txt:4: ", "testdata/bad.txt:6: ", "testdata/bad.txt:7: "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "bad.txt:3:") || strings.Contains(err.Error(), "bad.txt:5:") {
		t.Errorf("error %q blames a good line", err)
	}
	se := s.Get(Key{"example.com/shop/codec", "Good-2"}, "sec/op")
	if se == nil || len(se.Values) != 2 || math.Abs(se.Values[0]-1718e-9) > 1e-15 || math.Abs(se.Values[1]-1720e-9) > 1e-15 {
		t.Errorf("good lines: %+v, want both kept, in seconds", se)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		reason, name, body string
		wantErr            string
	}{
		{"go test output", "ok.txt", "BenchmarkA 10 100 ns/op\n", ""},
		{"a file without results says what it expected", "empty.txt", "PASS\nok x 1s\n", "no benchmark results"},
		{"a JSON file that is not a run", "notrun.json", `{"kind": "bench"}`, "not a stampede run document"},
		{"a run without benchmarks", "nobench.json", `{"version": 1, "kind": "load"}`, "has no benchmarks"},
		{"broken JSON", "broken.json", `{"version": 1,`, "not a stampede run document"},
	} {
		_, err := ReadFile(write(tc.name, tc.body))
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.reason, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: err = %v, want it to name the file and say %q", tc.reason, err, tc.wantErr)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestRunDocumentRoundTrip(t *testing.T) {
	// go test output → Run document → Set: the same samples per unit.
	orig := readSet(t, "testdata/new.txt")
	run := NewRun()
	run.Benchmarks = orig.Benchmarks("micro")
	path := filepath.Join(t.TempDir(), "new.json")
	if err := result.WriteFile(path, run); err != nil {
		t.Fatal(err)
	}
	back := readSet(t, path)
	if len(back.Series) != len(orig.Series) {
		t.Fatalf("%d series back, want %d", len(back.Series), len(orig.Series))
	}
	for _, se := range orig.Series {
		got := back.Get(se.Key, se.Unit)
		if got == nil || !slices.Equal(got.Values, se.Values) {
			t.Errorf("%s %s: %v back, want %v", se.Name, se.Unit, got, se.Values)
		}
	}
}

func TestBenchmarksFromSet(t *testing.T) {
	s := NewSet("x")
	k := Key{"example.com/p", "Big-2"}
	for _, v := range []float64{0.2, 0.21, 0.19, 0.2} {
		s.Add(k, "sec/op", v)
		s.Add(k, "B/op", 3e6)
		s.Add(k, "allocs/op", 12)
	}
	bs := s.Benchmarks("micro")
	if len(bs) != 1 {
		t.Fatalf("%d benchmarks, want 1", len(bs))
	}
	b := bs[0]
	if b.Name != "Big-2" || b.Package != "example.com/p" || b.Runs != 4 || b.MeanS != 0.2 || b.MedianS != 0.2 ||
		b.MinS != 0.19 || b.MaxS != 0.21 || b.BytesOp != 3e6 || b.AllocsOp != 12 || len(b.Times) != 4 || b.Level != "micro" {
		t.Errorf("benchmark = %+v", b)
	}
	if len(b.Notes) != 2 || !strings.Contains(b.Notes[0], "allocates 3.0 MB per operation") || !strings.Contains(b.Notes[1], "takes 200.0 ms") {
		t.Errorf("notes = %q, want the allocation and the slow-operation flags", b.Notes)
	}
}

func TestOpportunities(t *testing.T) {
	for _, tc := range []struct {
		reason string
		b      result.Benchmark
		want   []string
	}{
		{"a quiet, small, fast benchmark has none", result.Benchmark{Runs: 10, MeanS: 0.001, StddevS: 0.0001, BytesOp: 100}, nil},
		{"CV of 25% is high variance", result.Benchmark{Runs: 10, MeanS: 0.001, StddevS: 0.00025}, []string{"high variance: coefficient of variation 25% > 20%"}},
		{"CV of exactly 20% is not flagged", result.Benchmark{Runs: 10, MeanS: 0.001, StddevS: 0.0002}, nil},
		{"one run has no variance to judge", result.Benchmark{Runs: 1, MeanS: 0.001, StddevS: 0.001}, nil},
		{"just over 1 MB per operation", result.Benchmark{Runs: 10, MeanS: 0.001, BytesOp: 1_000_001}, []string{"allocates 1.0 MB per operation"}},
		{"exactly 1 MB is not flagged", result.Benchmark{Runs: 10, MeanS: 0.001, BytesOp: 1_000_000}, nil},
		{"an operation of 150 ms", result.Benchmark{Runs: 10, MeanS: 0.150}, []string{"one operation takes 150.0 ms"}},
		{"exactly 100 ms is not flagged", result.Benchmark{Runs: 10, MeanS: 0.100}, nil},
	} {
		got := Opportunities(&tc.b)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %q, want %q", tc.reason, got, tc.want)
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tc.want[i]) {
				t.Errorf("%s: %q, want it to start %q", tc.reason, got[i], tc.want[i])
			}
		}
	}
}

// The seeds are small (testdata/fuzz/FuzzReadBenchfmt holds real benchfmt:
// configuration lines, units, keys, several packages): every input the
// fuzzer finds interesting is minimized, and minimizing a large seed's
// descendant takes the fuzzing time instead of executions.
func FuzzReadBenchfmt(f *testing.F) {
	for _, name := range []string{"testdata/bad.txt"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("Unit ns/op better=higher\nBenchmarkX 1 2 ns/op 3 custom\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewSet("fuzz")
		err := s.ReadBenchfmt(strings.NewReader(string(data)), "fuzz")
		if err != nil && !errors.Is(err, ErrParse) {
			t.Fatalf("error %v does not wrap ErrParse", err)
		}
		// Whatever was read must summarise and render without panicking.
		if s.Len() > 0 {
			c := Compare(s, s, CompareOptions{Threshold: 0.05})
			if err := c.WriteText(new(strings.Builder)); err != nil {
				t.Fatal(err)
			}
			_ = s.Benchmarks("micro")
		}
	})
}
