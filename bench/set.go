package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/stampede-perf/stampede/result"
)

// ErrParse marks input that is neither `go test -bench` output nor a Run
// document with benchmarks.
var ErrParse = errors.New("cannot read benchmarks")

// Config is one file-level configuration line of `go test -bench` output,
// such as "goos: linux" or "pkg: example.com/x".
type Config struct{ Key, Value string }

// Key identifies a benchmark: its package and full name (sub-benchmarks
// and the -GOMAXPROCS suffix included, the "Benchmark" prefix dropped).
type Key struct{ Pkg, Name string }

// Series is every measurement of one benchmark in one unit, in the order
// read. Units are benchfmt's tidied ones: sec/op, B/op, allocs/op, B/s….
type Series struct {
	Key
	Unit   string
	Values []float64
}

// Set is the benchmark measurements read from one or more files.
type Set struct {
	Label  string
	Series []*Series // in the order first seen
	// Configs holds, per package, the file configuration in force when
	// that package's first result was read.
	Configs map[string][]Config
	// Units carries unit metadata (better=, assume=) from the input.
	Units benchfmt.UnitMetadataMap
	// Warnings are lines that were skipped while reading live `go test`
	// output (RunGo), such as a skipped benchmark's "--- SKIP" line.
	Warnings []string

	index map[seriesKey]*Series
}

type seriesKey struct {
	Key
	unit string
}

// NewSet is an empty set labelled label.
func NewSet(label string) *Set {
	return &Set{Label: label, Configs: map[string][]Config{}, Units: benchfmt.UnitMetadataMap{}, index: map[seriesKey]*Series{}}
}

// Add appends one measurement.
func (s *Set) Add(k Key, unit string, v float64) {
	sk := seriesKey{k, unit}
	se := s.index[sk]
	if se == nil {
		se = &Series{Key: k, Unit: unit}
		s.index[sk] = se
		s.Series = append(s.Series, se)
	}
	se.Values = append(se.Values, v)
}

// Get returns the series of k in unit, or nil.
func (s *Set) Get(k Key, unit string) *Series { return s.index[seriesKey{k, unit}] }

// Keys returns the benchmarks in the order first seen.
func (s *Set) Keys() []Key {
	var keys []Key
	seen := map[Key]bool{}
	for _, se := range s.Series {
		if !seen[se.Key] {
			seen[se.Key] = true
			keys = append(keys, se.Key)
		}
	}
	return keys
}

// Len is the number of measurements in s.
func (s *Set) Len() int {
	n := 0
	for _, se := range s.Series {
		n += len(se.Values)
	}
	return n
}

// ReadBenchfmt adds the results of `go test -bench` output read from r to
// s; name is used in error messages. Lines that are not benchmark results
// are skipped, as `go test` prints other things too. Every malformed
// result line is reported, each as "name:line: problem", joined into one
// error wrapping ErrParse; the well-formed lines are kept.
func (s *Set) ReadBenchfmt(r io.Reader, name string) error {
	errs := s.readBenchfmt(r, name)
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrParse, errors.Join(errs...))
	}
	return nil
}

// readBenchfmt reads what it can and returns every problem.
func (s *Set) readBenchfmt(r io.Reader, name string) []error {
	br := benchfmt.NewReader(r, name)
	var errs []error
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			errs = append(errs, rec)
		case *benchfmt.UnitMetadata:
			s.Units[rec.UnitMetadataKey] = rec
		case *benchfmt.Result:
			pkg := rec.GetConfig("pkg")
			if _, ok := s.Configs[pkg]; !ok {
				var cfg []Config
				for _, c := range rec.Config {
					if c.File {
						cfg = append(cfg, Config{c.Key, string(c.Value)})
					}
				}
				s.Configs[pkg] = cfg
			}
			k := Key{Pkg: pkg, Name: rec.Name.String()}
			for _, v := range rec.Values {
				s.Add(k, v.Unit, v.Value)
			}
		}
	}
	if err := br.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	return errs
}

// AddRun adds the benchmarks of a Run document: each unit's samples when
// the benchmark has them (Go benchmarks), otherwise its run times as
// sec/op (command benchmarks: one run is one operation).
func (s *Set) AddRun(run *result.Run) error {
	if len(run.Benchmarks) == 0 {
		return fmt.Errorf("%w: the run document has no benchmarks", ErrParse)
	}
	for _, b := range run.Benchmarks {
		k := Key{Pkg: b.Package, Name: b.Name}
		if k.Name == "" {
			k.Name = b.Command
		}
		if len(b.Samples) > 0 {
			units := make([]string, 0, len(b.Samples))
			for u := range b.Samples {
				units = append(units, u)
			}
			sort.Slice(units, func(i, j int) bool {
				return unitOrder(units[i]) < unitOrder(units[j]) || unitOrder(units[i]) == unitOrder(units[j]) && units[i] < units[j]
			})
			for _, u := range units {
				for _, v := range b.Samples[u] {
					s.Add(k, u, v)
				}
			}
			continue
		}
		times := b.Times
		if len(times) == 0 && b.Runs > 0 {
			times = []float64{b.MedianS}
		}
		for _, v := range times {
			s.Add(k, "sec/op", v)
		}
	}
	return nil
}

// unitOrder puts the standard units in `go test -benchmem` order.
func unitOrder(u string) int {
	switch u {
	case "sec/op":
		return 0
	case "B/s":
		return 1
	case "B/op":
		return 2
	case "allocs/op":
		return 3
	}
	return 4
}

// ReadFile reads benchmarks from path, which is either `go test -bench`
// output or a Run document (JSON). The set is labelled with the path.
func ReadFile(path string) (*Set, error) {
	s := NewSet(path)
	if err := s.ReadFile(path); err != nil {
		return nil, err
	}
	return s, nil
}

// ReadFile adds the benchmarks of one file to s; see the function ReadFile.
func (s *Set) ReadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		run, err := result.Decode(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrParse, path, err)
		}
		if err := s.AddRun(run); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	if err := s.ReadBenchfmt(bufio.NewReader(bytes.NewReader(data)), path); err != nil {
		return err
	}
	if s.Len() == 0 {
		return fmt.Errorf("%w: %s: no benchmark results (expected `go test -bench` output or a stampede run document)", ErrParse, path)
	}
	return nil
}

// Benchmarks turns s into one result.Benchmark per benchmark: the sec/op
// statistics in the *_s fields (Times are the per-run seconds per
// operation), mean B/op and allocs/op, every unit's samples, and the
// outlier count and opportunity notes of any benchmark.
func (s *Set) Benchmarks(level string) []result.Benchmark {
	var out []result.Benchmark
	for _, k := range s.Keys() {
		b := result.Benchmark{Name: k.Name, Package: k.Pkg, Level: level, Unit: "sec/op", Samples: map[string][]float64{}}
		b.Command = "go test -bench"
		if k.Pkg != "" {
			b.Command += " " + k.Pkg
		}
		for _, se := range s.Series {
			if se.Key != k {
				continue
			}
			b.Samples[se.Unit] = append([]float64(nil), se.Values...)
			switch se.Unit {
			case "sec/op":
				st := Describe(se.Values)
				b.Runs, b.MeanS, b.StddevS, b.MedianS, b.MinS, b.MaxS = st.N, st.Mean, st.Stddev, st.Median, st.Min, st.Max
				b.P95S, b.P99S, b.OpsPerS = st.P95, st.P99, OpsPerS(st.Mean)
				b.Times = append([]float64(nil), se.Values...)
				b.OutlierRuns = Outliers(se.Values)
				b.Outliers = len(b.OutlierRuns)
				if w := OutlierWarning(se.Values); w != "" {
					b.Warnings = append(b.Warnings, w)
				}
			case "B/op":
				b.BytesOp = Describe(se.Values).Mean
			case "allocs/op":
				b.AllocsOp = Describe(se.Values).Mean
			}
		}
		if b.Runs == 0 {
			// A benchmark reporting only custom units: count its runs.
			for _, se := range s.Series {
				if se.Key == k {
					b.Runs = max(b.Runs, len(se.Values))
				}
			}
			b.Unit = ""
		}
		b.Notes = Opportunities(&b)
		out = append(out, b)
	}
	return out
}

// Opportunity thresholds: where a benchmark suggests something to improve.
const (
	HighVarianceCV = 0.20      // coefficient of variation
	BigAllocBytes  = 1_000_000 // bytes per operation (1 MB, SI as everywhere here)
	SlowOperationS = 0.100     // seconds per operation
)

// Opportunities flags what in b is worth a look: a coefficient of
// variation above 20% (the numbers are not trustworthy yet), more than
// 1 MB allocated per operation, or an operation slower than 100 ms.
func Opportunities(b *result.Benchmark) []string {
	var notes []string
	if b.MeanS > 0 && b.Runs > 1 {
		if cv := b.StddevS / b.MeanS; cv > HighVarianceCV {
			notes = append(notes, fmt.Sprintf("high variance: coefficient of variation %.0f%% > %.0f%%; quiet the machine or add runs before trusting a comparison", cv*100, HighVarianceCV*100))
		}
	}
	if b.BytesOp > BigAllocBytes {
		notes = append(notes, fmt.Sprintf("allocates %s per operation (> 1 MB): reuse buffers or stream", fmtBytes(b.BytesOp)))
	}
	if b.MeanS > SlowOperationS {
		notes = append(notes, fmt.Sprintf("one operation takes %s (> 100 ms)", fmtSeconds(b.MeanS)))
	}
	return notes
}

// fmtBytes prints a byte count with an SI prefix (1 MB = 10⁶ bytes, as in
// the Run document's *_mb keys).
func fmtBytes(v float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// fmtSeconds prints a duration in seconds the way hyperfine does: seconds
// with three decimals, or milliseconds or microseconds with one.
func fmtSeconds(s float64) string {
	v, unit := scaleSeconds(s)
	return fmtIn(v, unit)
}

func fmtIn(v float64, unit string) string {
	if unit == "s" {
		return fmt.Sprintf("%.3f %s", v, unit)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// scaleSeconds picks s, ms or µs for a time in seconds.
func scaleSeconds(s float64) (float64, string) {
	f, unit := secondsUnit(s)
	return s * f, unit
}

// secondsUnit is the unit (and its factor from seconds) for showing s.
func secondsUnit(s float64) (float64, string) {
	switch a := abs(s); {
	case a >= 1:
		return 1, "s"
	case a >= 1e-3:
		return 1e3, "ms"
	default:
		return 1e6, "µs"
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// trimConfig drops the keys that only mark where a file came from.
func trimConfig(cfg []Config) []Config {
	var out []Config
	for _, c := range cfg {
		if strings.HasPrefix(c.Key, ".") {
			continue
		}
		out = append(out, c)
	}
	return out
}
