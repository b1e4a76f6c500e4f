package bench

import (
	"bytes"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

func readSet(t *testing.T, path string) *Set {
	t.Helper()
	s, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCompareGoldenText(t *testing.T) {
	c := Compare(readSet(t, "testdata/old.txt"), readSet(t, "testdata/new.txt"), CompareOptions{Threshold: 0.05})
	var b bytes.Buffer
	if err := c.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "old-new.golden.txt", b.Bytes())
}

func TestCompareGoldenMarkdown(t *testing.T) {
	c := Compare(readSet(t, "testdata/old.txt"), readSet(t, "testdata/new.txt"), CompareOptions{})
	var b bytes.Buffer
	if err := c.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "old-new.golden.md", b.Bytes())
}

// benchstatRows reads a text table printed by benchstat: per unit and
// benchmark, the delta column and the "(p=… n=…)" column.
func benchstatRows(t *testing.T, path string) map[[2]string][2]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[[2]string][2]string{}
	unit, header := "", 0
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.Contains(line, "│"):
			header++
			if header == 2 {
				unit = strings.Fields(strings.Split(line, "│")[1])[0]
			}
			continue
		case strings.TrimSpace(line) == "":
			header = 0
			continue
		}
		f := strings.Fields(line)
		for i, w := range f {
			if strings.HasPrefix(w, "(") && i > 0 {
				p := strings.Join(f[i:], " ")
				p = p[:strings.Index(p, ")")+1]
				rows[[2]string{unit, f[0]}] = [2]string{f[i-1], p}
				break
			}
		}
	}
	return rows
}

func TestCompareAgreesWithBenchstat(t *testing.T) {
	// testdata/old-new.benchstat.txt is benchstat's own output for
	// testdata/old.txt and new.txt (x/perf at the version in go.mod): every
	// verdict, delta and p-value printed here must be the same.
	want := benchstatRows(t, "testdata/old-new.benchstat.txt")
	if len(want) < 10 {
		t.Fatalf("read only %d rows from benchstat's output", len(want))
	}
	c := Compare(readSet(t, "testdata/old.txt"), readSet(t, "testdata/new.txt"), CompareOptions{})
	got := map[[2]string][2]string{}
	for _, tb := range c.Tables {
		for _, r := range tb.Rows {
			if d := r.Delta[1]; d != nil {
				got[[2]string{tb.Unit, r.Name}] = [2]string{d.Text, "(" + d.Comparison.String() + ")"}
			}
		}
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s %s: got %q, benchstat printed %q", k[1], k[0], got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d compared rows, benchstat has %d", len(got), len(want))
	}
}

func TestRegressionGate(t *testing.T) {
	old, new := readSet(t, "testdata/old.txt"), readSet(t, "testdata/new.txt")
	for _, tc := range []struct {
		reason    string
		threshold float64
		want      []string
	}{
		{"no gate, no regression", 0, nil},
		{"Decode is 6% slower: over a 5% gate", 0.05, []string{"Decode-2 (sec/op): +6.02% (p=0.000 n=10)"}},
		{"a 1% gate still only catches Decode: the other changes are improvements or not significant", 0.01, []string{"Decode-2 (sec/op): +6.02% (p=0.000 n=10)"}},
		{"a 7% gate lets 6% through", 0.07, nil},
	} {
		got := Compare(old, new, CompareOptions{Threshold: tc.threshold}).Regressions()
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.reason, got, tc.want)
		}
	}
	res := Compare(old, new, CompareOptions{Threshold: 0.05}).Result()
	if !res.Regression || len(res.Rows) != 16 {
		t.Errorf("result: regression %v with %d rows, want true with 16 (5 benchmarks on both sides × 3 units, and B/s of one)", res.Regression, len(res.Rows))
	}
	for _, r := range res.Rows {
		if r.Name == "Decode-2" && r.Unit == "sec/op" && (!r.Significant || !r.Regression || r.Verdict != "worse" || r.DeltaPct < 6 || r.DeltaPct > 6.1) {
			t.Errorf("Decode row = %+v", r)
		}
		if r.Name == "Encode/format=gob-2" && r.Unit == "sec/op" && (r.Significant || r.Verdict != "~") {
			t.Errorf("gob row = %+v, want ~", r)
		}
	}
}

func TestCompareVerdictsOnGeneratedSamples(t *testing.T) {
	for _, tc := range []struct {
		reason      string
		unit        string
		shift       float64
		wantVerdict string
		wantRegress bool
	}{
		{"10% more time per op is worse", "sec/op", 1.10, "worse", true},
		{"10% less time per op is better", "sec/op", 0.90, "better", false},
		{"10% more B/op is worse", "B/op", 1.10, "worse", true},
		{"10% less throughput is worse (higher is better)", "B/s", 0.90, "worse", true},
		{"10% more throughput is better", "B/s", 1.10, "better", false},
		{"a unit of unknown direction has no verdict", "widgets", 1.10, "?", false},
		{"the same distribution is ~", "sec/op", 1.00, "~", false},
	} {
		r := rand.New(rand.NewPCG(21, 22))
		old, new := NewSet("old"), NewSet("new")
		k := Key{"p", "X"}
		for _, v := range lognormalSample(r, 10, 100, 0.01) {
			old.Add(k, tc.unit, v)
		}
		for _, v := range lognormalSample(r, 10, 100*tc.shift, 0.01) {
			new.Add(k, tc.unit, v)
		}
		d := Compare(old, new, CompareOptions{Threshold: 0.05}).Tables[0].Rows[0].Delta[1]
		if string(d.Verdict) != tc.wantVerdict || d.Regression != tc.wantRegress {
			t.Errorf("%s: verdict %q regression %v (p=%v), want %q %v", tc.reason, d.Verdict, d.Regression, d.P, tc.wantVerdict, tc.wantRegress)
		}
	}
}

func TestCompareFalsePositiveRate(t *testing.T) {
	// Two sets drawn from one distribution: "significant" must come up
	// about α of the time, not more.
	r := rand.New(rand.NewPCG(31, 32))
	const seeds = 1500
	sig := 0
	for range seeds {
		old, new := NewSet("old"), NewSet("new")
		k := Key{"p", "X"}
		for _, v := range lognormalSample(r, 10, 1e-6, 0.03) {
			old.Add(k, "sec/op", v)
		}
		for _, v := range lognormalSample(r, 10, 1e-6, 0.03) {
			new.Add(k, "sec/op", v)
		}
		if Compare(old, new, CompareOptions{}).Tables[0].Rows[0].Delta[1].Significant {
			sig++
		}
	}
	if rate := float64(sig) / seeds; rate < 0.02 || rate > 0.07 {
		t.Errorf("false-positive rate %.3f, want near α = 0.05", rate)
	}
}
