package tmpl

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stampede-perf/stampede/plan"
)

func TestLoadFeeder(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		wantCols []string
		wantRows [][]string
	}{
		{
			name:     "CSV with quoted fields, commas and doubled quotes",
			path:     "testdata/users.csv",
			wantCols: []string{"id", "email", "password"},
			wantRows: [][]string{
				{"1", "ann@example.com", "pa"},
				{"2", "bob@example.com", "p,b"},
				{"3", "cy@example.com", `say "hi"`},
			},
		},
		{
			name:     "JSON: columns in order of first appearance, absent keys empty, non-strings as JSON text",
			path:     "testdata/users.json",
			wantCols: []string{"id", "email", "admin", "tags", "meta"},
			wantRows: [][]string{
				{"1", "ann@example.com", "true", "", ""},
				{"2", "bob@example.com", "", `["a","b"]`, ""},
				{"3", "cy@example.com", "false", "", `{"k":null}`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := LoadFeeder(tt.path, "sequential")
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Columns(); !slices.Equal(got, tt.wantCols) {
				t.Errorf("Columns = %q, want %q", got, tt.wantCols)
			}
			if f.Len() != len(tt.wantRows) {
				t.Fatalf("Len = %d, want %d", f.Len(), len(tt.wantRows))
			}
			// Sequential draws walk the rows in file order.
			s := newTestState(1)
			for i, want := range tt.wantRows {
				s.NewIteration(int64(i))
				if got := s.row(f); !slices.Equal(got, want) {
					t.Errorf("row %d = %q, want %q", i, got, want)
				}
			}
		})
	}
}

func TestLoadFeederValues(t *testing.T) {
	tests := []struct {
		name, file, content string
		col                 string
		want                string
	}{
		{"CSV byte order mark is not part of the first column", "bom.csv", "\xef\xbb\xbfid\n7\n", "id", "7"},
		{"CSV header names are trimmed", "trim.csv", "id, email\n1, a@x\n", "email", " a@x"},
		{"CSV CRLF line ends", "crlf.csv", "id,name\r\n1,ann\r\n", "name", "ann"},
		{"JSON null reads as its JSON text", "null.json", `[{"v": null}]`, "v", "null"},
		{"JSON number keeps its text", "num.json", `[{"v": 12345678901234567890}]`, "v", "12345678901234567890"},
		{"JSON string escapes are decoded", "esc.json", `[{"v": "a\"b\u00e9"}]`, "v", `a"bé`},
		{"JSON nested value is compacted", "nest.json", `[{"v": { "a" : [1, 2] }}]`, "v", `{"a":[1,2]}`},
		{"upper-case extension", "UP.CSV", "v\nx\n", "v", "x"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := LoadFeeder(path, "")
			if err != nil {
				t.Fatal(err)
			}
			i, ok := f.index[tt.col]
			if !ok {
				t.Fatalf("no column %q in %q", tt.col, f.Columns())
			}
			if got := newTestState(0).row(f)[i]; got != tt.want {
				t.Errorf("%s = %q, want %q", tt.col, got, tt.want)
			}
		})
	}
}

func TestLoadFeederErrors(t *testing.T) {
	tests := []struct {
		name, file, content, mode string
		want                      string // the error, after the directory
	}{
		{"CSV row with too few fields names its line", "short.csv", "id,email\n1,a\n2\n", "",
			"short.csv:3: row has 1 fields, the header has a different number (give every row one value per column)"},
		{"CSV quoted row spanning lines reports where it starts", "span.csv", "id,note\n1,\"a\nb\"\n2,x,y\n", "",
			"span.csv:4: row has 3 fields, the header has a different number (give every row one value per column)"},
		{"CSV bare quote", "quote.csv", "id,name\n1,a\"b\n", "",
			`quote.csv:2: bare " in non-quoted-field (quote a field that holds quotes, and double the quotes inside: "say ""hi""")`},
		{"CSV empty file", "empty.csv", "", "",
			"empty.csv: file is empty (the first row must name the columns)"},
		{"CSV header only", "header.csv", "id,email\n", "",
			"header.csv: no rows after the header (add at least one row)"},
		{"CSV duplicate column", "dup.csv", "id,id\n1,2\n", "",
			`dup.csv:1: column "id" appears twice (rename one)`},
		{"CSV unnamed column", "unnamed.csv", "id,\n1,2\n", "",
			"unnamed.csv:1: column 2 has no name (name every column)"},
		{"JSON object instead of array", "obj.json", `{"id": 1}`, "",
			`obj.json:1: found an object (the file must be a JSON array of objects: [{"id": 1}, …])`},
		{"JSON element that is not an object names element and line", "elem.json", "[\n{\"id\": 1},\n2\n]", "",
			`elem.json:3: element 2 is a number, want an object (the file must be a JSON array of objects: [{"id": 1}, …])`},
		{"JSON syntax error names the line", "syntax.json", "[\n{\"id\": 1},\n{\"id\" 2}\n]", "",
			"syntax.json:3: expected colon after object key (the file must be a JSON array of objects)"},
		{"JSON truncated", "trunc.json", `[{"id": 1}`, "",
			"trunc.json:1: unexpected end of file (the file must be a JSON array of objects)"},
		{"JSON empty array", "none.json", "[]", "",
			"none.json: the array is empty (add at least one object)"},
		{"JSON objects without keys", "nokeys.json", "[{}, {}]", "",
			"nokeys.json: the objects have no keys (each key is a column)"},
		{"JSON duplicate key", "dupkey.json", `[{"id": 1, "id": 2}]`, "",
			`dupkey.json:1: key "id" appears twice in element 1 (keep one)`},
		{"JSON objects with different keys make at most a cell per byte", "sparse.json", disjointKeys(20), "",
			"sparse.json:17: 16 objects with 15 different keys between them make a table of more cells than the file has bytes (give the objects the same keys, or split the file)"},
		{"JSON data after the array", "after.json", "[{\"id\": 1}]\n[]", "",
			"after.json:2: found an array after the array (the file holds one array)"},
		{"unsupported extension", "users.txt", "id\n1\n", "",
			"users.txt: unsupported file type (use .csv with a header row, or .json with an array of objects)"},
		{"unknown mode", "mode.csv", "id\n1\n", "rand",
			`mode.csv: unknown feeder mode "rand" (use sequential, random or unique)`},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadFeeder(path, tt.mode)
			if err == nil {
				t.Fatalf("LoadFeeder(%s) succeeded, want error %q", tt.file, tt.want)
			}
			want := "feeder " + filepath.Join(dir, tt.want)
			if err.Error() != want {
				t.Errorf("error\n got: %s\nwant: %s", err, want)
			}
			var fe *FeederError
			if !errors.As(err, &fe) || fe.File != path {
				t.Errorf("error %#v is not a *FeederError for %s", err, path)
			}
		})
	}
}

// disjointKeys is a JSON array of n objects, one a line, each with a key
// of its own.
func disjointKeys(n int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n{\"k%d\": 1}", i)
	}
	b.WriteString("\n]")
	return b.String()
}

func TestLoadFeederMissingFile(t *testing.T) {
	_, err := LoadFeeder(filepath.Join(t.TempDir(), "nope.csv"), "")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
	if err != nil && !strings.Contains(err.Error(), "nope.csv: cannot read: ") {
		t.Errorf("error %q does not say which file could not be read", err)
	}
}

func TestNewFeederErrors(t *testing.T) {
	tests := []struct {
		name string
		cols []string
		rows [][]string
		mode string
		want string
	}{
		{"row too short", []string{"a", "b"}, [][]string{{"1", "2"}, {"1"}}, "", "feeder row 2 has 1 values, want 2 (one per column)"},
		{"no rows", []string{"a"}, nil, "", "feeder has no rows"},
		{"no columns", nil, [][]string{{}}, "", "feeder has no columns"},
		{"bad mode", []string{"a"}, [][]string{{"1"}}, "once", `unknown feeder mode "once" (use sequential, random or unique)`},
	}
	for _, tt := range tests {
		if _, err := NewFeeder(tt.cols, tt.rows, tt.mode); err == nil || err.Error() != tt.want {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// feederOf returns a feeder of n rows whose only column id holds 0..n-1.
func feederOf(t testing.TB, n int, mode string) *Feeder {
	t.Helper()
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = []string{strings.Repeat("x", i)} // row i is i x's: cheap to tell apart
	}
	f, err := NewFeeder([]string{"id"}, rows, mode)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFeederModes(t *testing.T) {
	tests := []struct {
		name string
		mode string
		vus  []int
		// want[v][i] is the row VU vus[v] sees in iteration i.
		want [][]int
	}{
		{"sequential: VUs take turns along the rows and wrap", "sequential", []int{1, 2},
			[][]int{{0, 2, 1, 0}, {1, 0, 2, 1}}},
		{"unique: VU k keeps row k mod n", "unique", []int{0, 1, 4, -1},
			[][]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 1}, {2, 2, 2, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := feederOf(t, 3, tt.mode)
			c := NewCompiler(map[string]*Feeder{"f": f}, nil, nil)
			tp, err := c.Compile("{{ f.id }}")
			if err != nil {
				t.Fatal(err)
			}
			states := make([]*State, len(tt.vus))
			for v, vu := range tt.vus {
				states[v] = newTestState(vu)
			}
			got := make([][]int, len(tt.vus))
			for i := range len(tt.want[0]) {
				for v, s := range states {
					s.NewIteration(int64(i))
					got[v] = append(got[v], len(tp.String(s)))
				}
			}
			for v := range got {
				if !slices.Equal(got[v], tt.want[v]) {
					t.Errorf("VU %d rows %v, want %v", tt.vus[v], got[v], tt.want[v])
				}
			}
		})
	}
}

func TestFeederRandom(t *testing.T) {
	f := feederOf(t, 5, "random")
	c := NewCompiler(map[string]*Feeder{"f": f}, nil, nil)
	tp, err := c.Compile("{{ f.id }}")
	if err != nil {
		t.Fatal(err)
	}
	draw := func(seed uint64) []int {
		s := NewState(1, rand.New(rand.NewPCG(seed, 1)), nil)
		var rows []int
		for i := range 500 {
			s.NewIteration(int64(i))
			a, b := tp.String(s), tp.String(s)
			if a != b {
				t.Fatalf("one iteration read two rows: %q and %q", a, b)
			}
			rows = append(rows, len(a))
		}
		return rows
	}
	rows := draw(7)
	count := map[int]int{}
	for _, r := range rows {
		count[r]++
	}
	// 500 uniform draws over 5 rows: ~100 each; below 50 is ~7 sigma off.
	for r := range 5 {
		if count[r] < 50 {
			t.Errorf("row %d drawn %d times of 500, want about 100", r, count[r])
		}
	}
	if !slices.Equal(rows, draw(7)) {
		t.Error("the same seed drew different rows")
	}
}

func TestFeederDrawnOncePerIteration(t *testing.T) {
	f := feederOf(t, 4, "sequential")
	c := NewCompiler(map[string]*Feeder{"f": f}, nil, nil)
	a, _ := c.Compile("{{ f.id }}")
	b, _ := c.Compile("{{ f.id }}/{{ f.id }}")
	none, _ := c.Compile("{{ vu }}")
	s := newTestState(1)
	s.NewIteration(1)
	if a.String(s) != "" || b.String(s) != "/" {
		t.Errorf("iteration 1 did not stay on row 0")
	}
	s.NewIteration(2)
	none.String(s) // an iteration that does not read the feeder draws nothing
	s.NewIteration(3)
	if got := a.String(s); got != "x" {
		t.Errorf("iteration 3 read %q, want row 1 (the unused iteration must not advance the counter)", got)
	}
}

// TestFeederSequentialConcurrent has many VUs draw from one sequential
// feeder at once: every row must be handed out equally often.
func TestFeederSequentialConcurrent(t *testing.T) {
	const rows, vus, iters = 5, 8, 50 // vus*iters is a multiple of rows
	f := feederOf(t, rows, "sequential")
	tp, err := NewCompiler(map[string]*Feeder{"f": f}, nil, nil).Compile("{{ f.id }}")
	if err != nil {
		t.Fatal(err)
	}
	counts := make([][rows]int, vus)
	var wg sync.WaitGroup
	for v := range vus {
		wg.Go(func() {
			s := newTestState(v)
			buf := make([]byte, 0, 16)
			for i := range iters {
				s.NewIteration(int64(i))
				buf = tp.Append(buf[:0], s)
				counts[v][len(buf)]++
			}
		})
	}
	wg.Wait()
	var total [rows]int
	for _, c := range counts {
		for r, n := range c {
			total[r] += n
		}
	}
	for r, n := range total {
		if n != vus*iters/rows {
			t.Errorf("row %d handed out %d times, want %d", r, n, vus*iters/rows)
		}
	}
}

// A feeder file is held in memory, so its size is bounded; the refusal
// names the file and the limit, and a file at the limit is read.
func TestFeederSizeBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rows.csv")
	data := "id\n" + strings.Repeat("1234567\n", 1<<17) // 1 MiB and 3 bytes
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := readBounded(path, 1<<20)
	if err == nil || !strings.Contains(err.Error(), "rows.csv: larger than 1 MiB") {
		t.Fatalf("err = %v, want the file named and the 1 MiB limit", err)
	}
	if b, err := readBounded(path, int64(len(data))); err != nil || len(b) != len(data) {
		t.Fatalf("at the limit: %d bytes, %v", len(b), err)
	}
	if plan.MaxFeederBytes != 256<<20 {
		t.Fatalf("the README documents 256 MiB")
	}
}
