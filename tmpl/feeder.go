package tmpl

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/stampede-perf/stampede/plan"
)

type feedMode uint8

const (
	modeSequential feedMode = iota
	modeRandom
	modeUnique
)

func (m feedMode) String() string {
	switch m {
	case modeRandom:
		return "random"
	case modeUnique:
		return "unique"
	}
	return "sequential"
}

func parseMode(mode string) (feedMode, error) {
	switch mode {
	case "", "sequential":
		return modeSequential, nil
	case "random":
		return modeRandom, nil
	case "unique":
		return modeUnique, nil
	}
	return 0, fmt.Errorf("unknown feeder mode %q (use sequential, random or unique)", mode)
}

// Feeder is a table of rows that templates read as `{{ name.column }}`. Its
// rows are held once, row-major in one slice, and shared by all VUs; which
// row a VU sees is decided by the mode (see the package doc).
//
// A Feeder is immutable after construction and safe for concurrent use; in
// sequential mode VUs advance one shared atomic counter.
type Feeder struct {
	mode    feedMode
	columns []string
	index   map[string]int // column name → index
	cells   []string       // len(columns) cells per row
	n       int            // rows
	next    atomic.Uint64  // sequential: rows handed out so far
}

// FeederError is a feeder file that cannot be used. Line is 1-based, 0 when
// the problem is not at one line.
type FeederError struct {
	File string
	Line int
	Msg  string // what is wrong and what to do
	Err  error  // the underlying error, if any
}

func (e *FeederError) Error() string {
	var b strings.Builder
	b.WriteString("feeder ")
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *FeederError) Unwrap() error { return e.Err }

// LoadFeeder reads a feeder file: CSV (.csv; the first row names the
// columns) or JSON (.json; an array of flat objects, whose keys are the
// columns in order of first appearance; a row without a key reads "" there;
// non-string values read as their JSON text, such as 42, true, null or
// {"a":1}; a table of more cells than the file has bytes, from objects
// whose keys mostly differ, is refused). mode is sequential (or ""),
// random or unique. path is used as given: resolving it against the
// plan's directory is the caller's job. Errors are *FeederError naming
// the file and, where there is one, the line.
func LoadFeeder(path, mode string) (*Feeder, error) {
	m, err := parseMode(mode)
	if err != nil {
		return nil, &FeederError{File: path, Msg: err.Error()}
	}
	var parse func(path string, data []byte) ([]string, []string, error)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		parse = parseCSV
	case ".json":
		parse = parseJSON
	default:
		return nil, &FeederError{File: path, Msg: "unsupported file type (use .csv with a header row, or .json with an array of objects)"}
	}
	data, err := readBounded(path, plan.MaxFeederBytes)
	if err != nil {
		return nil, err
	}
	cols, cells, err := parse(path, data)
	if err != nil {
		return nil, err
	}
	return newFeeder(cols, cells, m), nil
}

// readBounded reads a feeder file of at most limit bytes: its rows are
// held in memory for the whole run.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FeederError{File: path, Msg: "cannot read", Err: err}
	}
	defer f.Close()
	// One byte past the limit tells a file at the limit from a larger one,
	// whatever its size claims.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &FeederError{File: path, Msg: "cannot read", Err: err}
	}
	if int64(len(data)) > limit {
		return nil, &FeederError{File: path, Msg: fmt.Sprintf("larger than %d MiB, the most a feeder may hold in memory (use a smaller sample of rows)", limit>>20)}
	}
	return data, nil
}

// NewFeeder returns a feeder over rows held in memory, each with one value
// per column.
func NewFeeder(columns []string, rows [][]string, mode string) (*Feeder, error) {
	m, err := parseMode(mode)
	if err != nil {
		return nil, err
	}
	if err := checkColumns(columns); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("feeder has no rows")
	}
	cells := make([]string, 0, len(columns)*len(rows))
	for i, r := range rows {
		if len(r) != len(columns) {
			return nil, fmt.Errorf("feeder row %d has %d values, want %d (one per column)", i+1, len(r), len(columns))
		}
		cells = append(cells, r...)
	}
	return newFeeder(append([]string(nil), columns...), cells, m), nil
}

func newFeeder(cols, cells []string, m feedMode) *Feeder {
	f := &Feeder{mode: m, columns: cols, cells: cells, n: len(cells) / len(cols), index: make(map[string]int, len(cols))}
	for i, c := range cols {
		f.index[c] = i
	}
	return f
}

func checkColumns(cols []string) error {
	if len(cols) == 0 {
		return errors.New("feeder has no columns")
	}
	seen := make(map[string]bool, len(cols))
	for i, c := range cols {
		if c == "" {
			return fmt.Errorf("column %d has no name (name every column)", i+1)
		}
		if seen[c] {
			return fmt.Errorf("column %q appears twice (rename one)", c)
		}
		seen[c] = true
	}
	return nil
}

// Columns returns the column names in order. The slice is a copy.
func (f *Feeder) Columns() []string { return append([]string(nil), f.columns...) }

// Len returns the number of rows.
func (f *Feeder) Len() int { return f.n }

// Mode returns sequential, random or unique.
func (f *Feeder) Mode() string { return f.mode.String() }

// draw picks the row of f for the VU whose state is s.
func (f *Feeder) draw(s *State) []string {
	var i int
	switch f.mode {
	case modeSequential:
		i = int((f.next.Add(1) - 1) % uint64(f.n))
	case modeRandom:
		i = s.Rand().IntN(f.n)
	case modeUnique:
		i = s.vu % f.n
		if i < 0 {
			i += f.n
		}
	}
	w := len(f.columns)
	return f.cells[i*w : (i+1)*w : (i+1)*w]
}

const utf8BOM = "\xef\xbb\xbf"

func parseCSV(path string, data []byte) (cols, cells []string, err error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte(utf8BOM))))
	header, err := r.Read()
	if err == io.EOF {
		return nil, nil, &FeederError{File: path, Msg: "file is empty (the first row must name the columns)"}
	}
	if err != nil {
		return nil, nil, csvError(path, err, 0)
	}
	cols = make([]string, len(header))
	for i, h := range header {
		cols[i] = strings.TrimSpace(h)
	}
	if err := checkColumns(cols); err != nil {
		return nil, nil, &FeederError{File: path, Line: 1, Msg: err.Error()}
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, csvError(path, err, len(rec))
		}
		cells = append(cells, rec...)
	}
	if len(cells) == 0 {
		return nil, nil, &FeederError{File: path, Msg: "no rows after the header (add at least one row)"}
	}
	return cols, cells, nil
}

func csvError(path string, err error, fields int) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return &FeederError{File: path, Msg: "cannot read", Err: err}
	}
	if errors.Is(pe.Err, csv.ErrFieldCount) {
		return &FeederError{File: path, Line: pe.StartLine,
			Msg: fmt.Sprintf("row has %d fields, the header has a different number (give every row one value per column)", fields)}
	}
	msg := pe.Err.Error()
	if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
		msg += ` (quote a field that holds quotes, and double the quotes inside: "say ""hi""")`
	}
	return &FeederError{File: path, Line: pe.Line, Msg: msg}
}

// parseJSON reads an array of flat objects token by token, so that errors
// can name the line and the columns keep the order of the file.
func parseJSON(path string, data []byte) (cols, cells []string, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	fail := func(off int64, format string, args ...any) error {
		return &FeederError{File: path, Line: lineAt(data, off), Msg: fmt.Sprintf(format, args...)}
	}
	syntax := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fail(se.Offset, "%v (the file must be a JSON array of objects)", se)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fail(int64(len(data)), "unexpected end of file (the file must be a JSON array of objects)")
		}
		return &FeederError{File: path, Msg: "cannot read", Err: err}
	}
	const want = "(the file must be a JSON array of objects: [{\"id\": 1}, …])"
	// Every row holds a cell for every column, keys it lacks included: a
	// table of objects whose keys mostly differ grows as rows × columns,
	// quadratically in the file's size. No more cells than the file has
	// bytes keeps it in proportion (a value with its key takes at least
	// four bytes, so a table whose objects share their keys never comes
	// near).
	sparse := func(rows, cols int) error {
		if rows*cols <= len(data) {
			return nil
		}
		return fail(dec.InputOffset(), "%d objects with %d different keys between them make a table of more cells than the file has bytes (give the objects the same keys, or split the file)", rows, cols)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, syntax(err)
	}
	if tok != json.Delim('[') {
		return nil, nil, fail(dec.InputOffset(), "found %s %s", describe(tok), want)
	}
	index := map[string]int{}
	var rows [][]string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, syntax(err)
		}
		if tok != json.Delim('{') {
			return nil, nil, fail(dec.InputOffset(), "element %d is %s, want an object %s", len(rows)+1, describe(tok), want)
		}
		if err := sparse(len(rows)+1, len(cols)); err != nil {
			return nil, nil, err
		}
		row := make([]string, len(cols))
		set := make([]bool, len(cols))
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, nil, syntax(err)
			}
			key := tok.(string) // object keys are always strings
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, nil, syntax(err)
			}
			i, ok := index[key]
			if !ok {
				if err := sparse(len(rows)+1, len(cols)+1); err != nil {
					return nil, nil, err
				}
				i = len(cols)
				index[key] = i
				cols = append(cols, key)
				row, set = append(row, ""), append(set, false)
			}
			if set[i] {
				return nil, nil, fail(dec.InputOffset(), "key %q appears twice in element %d (keep one)", key, len(rows)+1)
			}
			set[i] = true
			if row[i], err = jsonText(raw); err != nil {
				return nil, nil, syntax(err)
			}
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, nil, syntax(err)
		}
		rows = append(rows, row)
	}
	if _, err := dec.Token(); err != nil { // ']'
		return nil, nil, syntax(err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, syntax(err)
		}
		return nil, nil, fail(dec.InputOffset(), "found %s after the array (the file holds one array)", describe(tok))
	}
	if len(rows) == 0 {
		return nil, nil, &FeederError{File: path, Msg: "the array is empty (add at least one object)"}
	}
	if len(cols) == 0 {
		return nil, nil, &FeederError{File: path, Msg: "the objects have no keys (each key is a column)"}
	}
	cells = make([]string, 0, len(rows)*len(cols))
	for _, r := range rows {
		cells = append(cells, r...)
		for range len(cols) - len(r) {
			cells = append(cells, "")
		}
	}
	return cols, cells, nil
}

// jsonText is a value as a template shows it: a string's contents, or the
// compact JSON text of anything else.
func jsonText(raw json.RawMessage) (string, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", err
	}
	return b.String(), nil
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' || v == ']' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}
