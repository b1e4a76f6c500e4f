package tmpl

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzFeeder feeds arbitrary bytes to the CSV and JSON feeder parsers. A
// failure is a *FeederError naming the file and a line inside it; a table
// that parses is whole rows of named, distinct columns, holds no more
// cells than the file has bytes (its rows stay in memory for the whole
// run), and written back out in the same format it parses to itself.
func FuzzFeeder(f *testing.F) {
	for _, s := range []string{
		"id,name\n1,a\n2,b\n",
		"\xef\xbb\xbfid, name \r\n1,\"say \"\"hi\"\"\"\r\n",
		"a,b\n1\n",
		"a,a\n1,2\n",
		"a,\n1,2\n",
		"a\n\"x\ny\"\n",
		"a\n\"unterminated\n",
		"",
		`[{"id": 1, "name": "a"}, {"name": "b", "extra": true}]`,
		`[{"a": {"b": [1, 2]}, "c": null}]`,
		`[{"a": 1, "a": 2}]`,
		`[1]`,
		`{}`,
		`[]`,
		`[{}]`,
		`[{"a": 1}] [`,
		`[{"a":1},{"b":1},{"c":1},{"d":1},{"e":1},{"f":1}]`,
	} {
		f.Add([]byte(s), strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{"))
	}
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		path, parse, write := "fuzz.csv", parseCSV, writeCSV
		if isJSON {
			path, parse, write = "fuzz.json", parseJSON, writeJSON
		}
		cols, cells, err := parse(path, data)
		if err != nil {
			var fe *FeederError
			if !errors.As(err, &fe) {
				t.Fatalf("error is %T, want *FeederError: %v", err, err)
			}
			if fe.File != path || fe.Msg == "" {
				t.Fatalf("error does not name the file and the problem: %+v", fe)
			}
			if lines := 1 + bytes.Count(data, []byte{'\n'}); fe.Line < 0 || fe.Line > lines {
				t.Fatalf("error at line %d of a %d-line file: %v", fe.Line, lines, err)
			}
			return
		}
		if len(cols) == 0 || len(cells) == 0 || len(cells)%len(cols) != 0 {
			t.Fatalf("%d cells in %d columns", len(cells), len(cols))
		}
		if !isJSON {
			if err := checkColumns(cols); err != nil {
				t.Fatalf("columns %q: %v", cols, err)
			}
		}
		if len(cells) > len(data) {
			t.Fatalf("%d cells from a %d-byte file", len(cells), len(data))
		}
		again := write(cols, cells)
		cols2, cells2, err := parse(path, again)
		if err != nil || !slices.Equal(cols, cols2) || !slices.Equal(cells, cells2) {
			t.Fatalf("written back as %q it reads %q %q, %v; want %q %q", again, cols2, cells2, err, cols, cells)
		}
	})
}

// writeCSV quotes every field, and starts with a byte order mark so that a
// first column name that itself starts with one keeps it.
func writeCSV(cols, cells []string) []byte {
	b := []byte(utf8BOM)
	row := func(fields []string) {
		for i, s := range fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
			b = append(b, '"')
		}
		b = append(b, '\n')
	}
	row(cols)
	for i := 0; i < len(cells); i += len(cols) {
		row(cells[i : i+len(cols)])
	}
	return b
}

// writeJSON writes every row with every column, as strings.
func writeJSON(cols, cells []string) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; i < len(cells); i += len(cols) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		for j, c := range cols {
			if j > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(c)
			v, _ := json.Marshal(cells[i+j])
			b.Write(k)
			b.WriteByte(':')
			b.Write(v)
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return b.Bytes()
}
