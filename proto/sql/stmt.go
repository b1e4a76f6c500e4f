package sql

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/stampede-perf/stampede/tmpl"
)

// dialect is what the statement scanner needs to know of a database's SQL:
// how it quotes and comments, and how it writes a bind parameter.
type dialect struct {
	dollarParams   bool // $1, $2 … (PostgreSQL); else ?
	dollarQuotes   bool // $tag$ … $tag$ strings (PostgreSQL)
	backslashQuote bool // '\'' escapes inside strings (MySQL)
	backticks      bool // `identifier` (MySQL, SQLite)
	brackets       bool // [identifier] (SQLite)
	hashComments   bool // # comment (MySQL)
}

var (
	postgresDialect = dialect{dollarParams: true, dollarQuotes: true}
	mysqlDialect    = dialect{backslashQuote: true, backticks: true, hashComments: true}
	sqliteDialect   = dialect{backticks: true, brackets: true}
)

// statement is one compiled SQL statement: its text with bind parameters
// in place of the plan's inline {{ }} actions, and the templates that give
// the parameters' values, in parameter order.
type statement struct {
	text string
	args []*tmpl.Template
	// rows is whether the statement returns rows, for drivers that need
	// to be told (database/sql: QueryContext rather than ExecContext).
	rows bool
}

// compileStatement prepares raw for d. args are the step's `args:` (values
// for the $n or ? the author wrote); alternatively raw holds {{ }}
// actions, each of which becomes a bind parameter — never text pasted
// into the statement, so a value cannot change the statement and one
// prepared statement serves every value. A statement uses one way or the
// other, not both.
func compileStatement(raw string, args []string, d dialect, c *tmpl.Compiler) (*statement, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("empty statement")
	}
	sc, err := scanSQL(raw, d)
	if err != nil {
		return nil, err
	}
	st := &statement{rows: returnsRows(raw)}
	if len(sc.actions) > 0 {
		if len(args) > 0 {
			return nil, errors.New("the statement has {{ }} values and args: use one or the other")
		}
		if sc.params > 0 {
			return nil, fmt.Errorf("the statement mixes {{ }} values with %s parameters: use one or the other", d.paramWord())
		}
		var b strings.Builder
		last := 0
		for i, a := range sc.actions {
			// A parameter glued to a word would become part of it
			// (x$1 is a name; $1 then 0 reads as $10).
			if a.start > 0 && (isIdent(raw[a.start-1]) || raw[a.start-1] == '$' || raw[a.start-1] == '?') ||
				a.end < len(raw) && (isIdent(raw[a.end]) || raw[a.end] == '$') {
				return nil, fmt.Errorf("%s touches the text around it: a {{ }} value is a parameter of its own (leave a space or an operator around it)", raw[a.start:a.end])
			}
			b.WriteString(raw[last:a.start])
			if d.dollarParams {
				b.WriteString("$" + strconv.Itoa(i+1))
			} else {
				b.WriteByte('?')
			}
			t, err := c.Compile(raw[a.start:a.end])
			if err != nil {
				return nil, err
			}
			st.args = append(st.args, t)
			last = a.end
		}
		b.WriteString(raw[last:])
		st.text = b.String()
		return st, nil
	}
	st.text = raw
	if sc.params != len(args) {
		return nil, fmt.Errorf("the statement has %d %s parameter(s) but args gives %d value(s)", sc.params, d.paramWord(), len(args))
	}
	for i, a := range args {
		t, err := c.Compile(a)
		if err != nil {
			return nil, fmt.Errorf("args[%d]: %w", i, err)
		}
		st.args = append(st.args, t)
	}
	return st, nil
}

func (d dialect) paramWord() string {
	if d.dollarParams {
		return "$n"
	}
	return "?"
}

// returnsRows guesses from the first keyword (and RETURNING) whether a
// statement yields rows. Only database/sql drivers need the guess; a
// wrong guess there costs the row count, not the statement.
func returnsRows(q string) bool {
	f := strings.ToUpper(firstWord(q))
	switch f {
	case "SELECT", "WITH", "VALUES", "SHOW", "EXPLAIN", "PRAGMA", "TABLE", "DESCRIBE", "DESC", "CALL":
		return true
	}
	return strings.Contains(strings.ToUpper(q), "RETURNING")
}

func firstWord(q string) string {
	q = strings.TrimLeft(q, " \t\r\n(")
	end := strings.IndexFunc(q, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	})
	if end < 0 {
		return q
	}
	return q[:end]
}

// scanned is what scanSQL found outside quotes and comments.
type scanned struct {
	params  int      // highest $n, or the number of ?
	actions []action // {{ }} actions, in order
}

type action struct{ start, end int } // raw[start:end] is "{{ … }}"

// scanSQL walks a statement the way the database lexes it, far enough to
// tell quoted text and comments from the rest: bind parameters and {{ }}
// actions count only outside them, and an action inside a quoted string
// is an error because it would not become a parameter.
func scanSQL(q string, d dialect) (scanned, error) {
	var sc scanned
	plain, numbered := 0, 0
	for i := 0; i < len(q); {
		ch := q[i]
		switch {
		case ch == '{' && strings.HasPrefix(q[i:], "{{"):
			end, err := actionEnd(q, i)
			if err != nil {
				return sc, err
			}
			sc.actions = append(sc.actions, action{i, end})
			i = end
		case ch == '\'':
			backslash := d.backslashQuote || i > 0 && (q[i-1] == 'E' || q[i-1] == 'e') && d.dollarQuotes
			end, err := quoted(q, i, '\'', backslash)
			if err != nil {
				return sc, err
			}
			i = end
		case ch == '"':
			end, err := quoted(q, i, '"', d.backslashQuote)
			if err != nil {
				return sc, err
			}
			i = end
		case ch == '`' && d.backticks:
			end, err := quoted(q, i, '`', false)
			if err != nil {
				return sc, err
			}
			i = end
		case ch == '[' && d.brackets:
			j := strings.IndexByte(q[i:], ']')
			if j < 0 {
				return sc, errors.New("unterminated [identifier]")
			}
			if err := noAction(q[i : i+j]); err != nil {
				return sc, err
			}
			i += j + 1
		case ch == '-' && strings.HasPrefix(q[i:], "--"), ch == '#' && d.hashComments:
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				return sc, nil
			}
			i += j + 1
		case ch == '/' && strings.HasPrefix(q[i:], "/*"):
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				return sc, errors.New("unterminated /* comment */")
			}
			i += j + 4
		case ch == '$' && d.dollarParams && i+1 < len(q) && isDigit(q[i+1]):
			j := i + 1
			for j < len(q) && isDigit(q[j]) {
				j++
			}
			if n, err := strconv.Atoi(q[i+1 : j]); err == nil && n > sc.params {
				sc.params = n
			}
			i = j
		case ch == '$' && d.dollarQuotes && (i == 0 || !isIdent(q[i-1])):
			tag, ok := dollarTag(q[i:])
			if !ok {
				i++
				continue
			}
			j := strings.Index(q[i+len(tag):], tag)
			if j < 0 {
				return sc, fmt.Errorf("unterminated %s string", tag)
			}
			if err := noAction(q[i+len(tag) : i+len(tag)+j]); err != nil {
				return sc, err
			}
			i += len(tag) + j + len(tag)
		case ch == '?' && !d.dollarParams:
			// ?NNN (SQLite) names parameter NNN; a plain ? is the next one.
			j := i + 1
			for j < len(q) && isDigit(q[j]) {
				j++
			}
			plain++
			if n, err := strconv.Atoi(q[i+1 : j]); err == nil {
				plain--
				numbered = max(numbered, n)
			}
			sc.params = max(plain, numbered)
			i = j
		default:
			i++
		}
	}
	return sc, nil
}

// actionEnd returns the index after the "}}" closing the action at q[i:],
// stepping over string literals inside the action.
func actionEnd(q string, i int) (int, error) {
	for j := i + 2; j < len(q); j++ {
		switch q[j] {
		case '"':
			for j++; j < len(q) && q[j] != '"'; j++ {
				if q[j] == '\\' {
					j++
				}
			}
		case '}':
			if strings.HasPrefix(q[j:], "}}") {
				return j + 2, nil
			}
		}
	}
	return 0, errors.New("unterminated {{ action")
}

// quoted returns the index after the string or identifier opened by the
// quote at q[i]; a doubled quote is part of it.
func quoted(q string, i int, quote byte, backslash bool) (int, error) {
	for j := i + 1; j < len(q); j++ {
		switch {
		case backslash && q[j] == '\\':
			j++
		case q[j] == quote && j+1 < len(q) && q[j+1] == quote:
			j++
		case q[j] == quote:
			return j + 1, noAction(q[i+1 : j])
		}
	}
	return 0, fmt.Errorf("unterminated %c quote", quote)
}

func noAction(s string) error {
	if strings.Contains(s, "{{") {
		return errors.New("{{ }} inside quotes: write the action bare (it is sent as a bind parameter, e.g. WHERE name = {{ name }})")
	}
	return nil
}

// dollarTag returns "$tag$" (or "$$") when s starts with one.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		switch {
		case s[j] == '$':
			return s[:j+1], true
		case !isIdent(s[j]) || j == 1 && isDigit(s[j]):
			return "", false
		}
	}
	return "", false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c >= 0x80
}
