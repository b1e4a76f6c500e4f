package plan

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a plan, located by file, line, column and
// field path (`scenarios[1].steps[0].method`). Line and Col are 0 when the
// plan was not read from a file.
type Problem struct {
	File      string
	Line, Col int
	Path      string
	Msg       string
}

// String formats the problem as `file:line:col: path: message`, leaving out
// the parts that are unknown.
func (pr Problem) String() string {
	var b strings.Builder
	switch {
	case pr.File != "" && pr.Line > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", pr.File, pr.Line, pr.Col)
	case pr.File != "":
		b.WriteString(pr.File + ": ")
	case pr.Line > 0:
		fmt.Fprintf(&b, "%d:%d: ", pr.Line, pr.Col)
	}
	if pr.Path != "" {
		b.WriteString(pr.Path + ": ")
	}
	b.WriteString(pr.Msg)
	return b.String()
}

// ValidationError is every problem found in a plan, in file order.
type ValidationError struct {
	Problems []Problem
}

// Error returns one problem per line.
func (e *ValidationError) Error() string {
	if len(e.Problems) == 0 {
		return "invalid plan"
	}
	lines := make([]string, len(e.Problems))
	for i, pr := range e.Problems {
		lines[i] = pr.String()
	}
	return strings.Join(lines, "\n")
}

// position is where a field's value was written. bad marks a value that
// was written but could not be decoded, so defaults treat it as absent.
type position struct {
	line, col int
	bad       bool
}

// At returns "file:line:col" of the field at path, or of its nearest
// ancestor that was written in the file, for errors found after Parse (a
// feeder file that cannot be opened, a database that refuses connections).
// Plans built from flags have no file and return "flags". At and Problem
// only read the plan and may be called from several goroutines.
func (p *Plan) At(path string) string {
	if p.pos == nil {
		if p.File == "" {
			return "flags"
		}
		return p.File
	}
	pos := lookupPos(p.pos, path)
	return fmt.Sprintf("%s:%d:%d", p.File, pos.line, pos.col)
}

// Problem returns a Problem at path with a formatted message, positioned
// like At.
func (p *Plan) Problem(path, format string, args ...any) Problem {
	pr := Problem{File: p.File, Path: path, Msg: fmt.Sprintf(format, args...)}
	if p.pos != nil {
		pos := lookupPos(p.pos, path)
		pr.Line, pr.Col = pos.line, pos.col
	}
	return pr
}

// lookupPos finds the position of path or its nearest recorded ancestor;
// the root is at 1:1.
func lookupPos(positions map[string]position, path string) position {
	for {
		if pos, ok := positions[path]; ok && pos.line > 0 {
			return pos
		}
		if path == "" {
			return position{line: 1, col: 1}
		}
		path = parentPath(path)
	}
}

// given reports whether the field at path was written in the plan file with
// a value that decoded.
func (p *Plan) given(path string) bool {
	pos, ok := p.pos[path]
	return ok && !pos.bad
}

// failed reports whether the field at path was written in the plan file
// with a value that did not decode: a check for "one of these must be set"
// stays quiet when the author did set one, wrongly.
func (p *Plan) failed(path string) bool {
	return p.pos[path].bad
}

// fieldPath appends a struct field name to path.
func fieldPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// keyPath appends a map key to path: `data.users`, or `variables["a.b"]`
// when the key is not a plain word.
func keyPath(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return fieldPath(path, key)
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// indexPath appends a list index to path.
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// parentPath drops the last segment of path: `a.b[2]` → `a.b` → `a` → "".
func parentPath(path string) string {
	last := 0
	for i := 0; i < len(path); i++ {
		switch path[i] {
		case '.':
			last = i
		case '[':
			last = i
			if i+1 < len(path) && path[i+1] == '"' {
				if q, err := strconv.QuotedPrefix(path[i+1:]); err == nil {
					i += len(q) // the loop's i++ then steps over ']'
				}
			}
		}
	}
	return path[:last]
}

// under reports whether path is base or lies inside it.
func under(path, base string) bool {
	if base == "" || path == base {
		return true
	}
	return strings.HasPrefix(path, base) && (path[len(base)] == '.' || path[len(base)] == '[')
}

// sortProblems orders problems by position, keeping the order of problems
// at the same place (and of unpositioned ones).
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}
