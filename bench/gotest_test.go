package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestGoArgs(t *testing.T) {
	for _, tc := range []struct {
		reason string
		o      GoOptions
		want   string
	}{
		{"defaults: every benchmark of the current package, 10 times", GoOptions{}, "test -run ^$ -bench . -benchmem -count 10 ."},
		{"everything set", GoOptions{Packages: []string{"./a", "./b/..."}, Bench: "Encode", Count: 3, Benchtime: "100x"},
			"test -run ^$ -bench Encode -benchmem -count 3 -benchtime 100x ./a ./b/..."},
	} {
		if got := strings.Join(tc.o.Args(), " "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.reason, got, tc.want)
		}
	}
}

const fakeGoOutput = `goos: linux
goarch: amd64
pkg: example.com/p
BenchmarkA-2   	 1000	      100 ns/op	  16 B/op	   1 allocs/op
BenchmarkA-2   	 1000	      102 ns/op	  16 B/op	   1 allocs/op
`

func TestRunGoWithFakeGo(t *testing.T) {
	for _, tc := range []struct {
		reason   string
		output   string
		err      error
		cancel   bool
		wantErr  error
		wantRuns int
	}{
		{"results are streamed and parsed", fakeGoOutput + "PASS\nok  \texample.com/p\t1s\n", nil, false, nil, 2},
		{"a failing go test keeps what it printed", fakeGoOutput + "--- FAIL: BenchmarkB\nFAIL\n", errors.New("exit status 1"), false, ErrGoTest, 2},
		{"no benchmark matched", "PASS\nok  \texample.com/p\t0.1s\n", nil, false, ErrGoTest, 0},
		{"a skipped benchmark's line is not a result, nor an error", fakeGoOutput + "BenchmarkB-2   \t--- SKIP: BenchmarkB\nPASS\n", nil, false, nil, 2},
		{"Ctrl+C keeps what was printed", fakeGoOutput, errors.New("signal: interrupt"), true, context.Canceled, 2},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var gotArgs []string
		fake := func(ctx context.Context, dir string, args []string, out io.Writer) error {
			gotArgs = args
			io.WriteString(out, tc.output)
			if tc.cancel {
				cancel()
			}
			return tc.err
		}
		var stream bytes.Buffer
		set, err := RunGo(ctx, GoOptions{Bench: "A", Count: 2, Output: &stream, GoTest: fake})
		cancel()
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Errorf("%s: err = %v, want %v", tc.reason, err, tc.wantErr)
		}
		if stream.String() != tc.output {
			t.Errorf("%s: streamed %q, want go test's output unchanged", tc.reason, stream.String())
		}
		if !slices.Contains(gotArgs, "-benchmem") {
			t.Errorf("%s: args %q lack -benchmem", tc.reason, gotArgs)
		}
		if set == nil {
			t.Errorf("%s: no set returned", tc.reason)
			continue
		}
		if strings.Contains(tc.output, "SKIP") && (len(set.Warnings) != 1 || !strings.Contains(set.Warnings[0], "go test:6: parsing iteration count")) {
			t.Errorf("%s: warnings %q, want the SKIP line named by line", tc.reason, set.Warnings)
		}
		n := 0
		if se := set.Get(Key{"example.com/p", "A-2"}, "sec/op"); se != nil {
			n = len(se.Values)
		}
		if n != tc.wantRuns {
			t.Errorf("%s: %d runs read, want %d", tc.reason, n, tc.wantRuns)
		}
	}
}

func TestRunGoForReal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a test binary")
	}
	var stream bytes.Buffer
	set, err := RunGo(context.Background(), GoOptions{Packages: []string{"./testdata/gobench"}, Count: 3, Benchtime: "200x", Output: &stream})
	if err != nil {
		t.Fatalf("%v\n%s", err, stream.String())
	}
	bs := set.Benchmarks("micro")
	names := []string{}
	for _, b := range bs {
		names = append(names, b.Name)
		if b.Runs != 3 || b.MeanS <= 0 || b.Package != "github.com/stampede-perf/stampede/bench/testdata/gobench" {
			t.Errorf("%s: %+v", b.Name, b)
		}
	}
	if len(bs) != 2 || !strings.HasPrefix(names[0], "Sum") || !strings.HasPrefix(names[1], "Alloc") {
		t.Fatalf("benchmarks %v, want Sum and Alloc in order", names)
	}
	if bs[1].BytesOp != 64 || bs[1].AllocsOp != 1 {
		t.Errorf("Alloc: %v B/op, %v allocs/op; want 64 and 1 from -benchmem", bs[1].BytesOp, bs[1].AllocsOp)
	}
	if !strings.Contains(stream.String(), "BenchmarkSum") {
		t.Errorf("go test's output was not streamed:\n%s", stream.String())
	}
}
