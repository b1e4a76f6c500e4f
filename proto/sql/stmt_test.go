package sql

import (
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/tmpl"
)

func TestCompileStatement(t *testing.T) {
	c := tmpl.NewCompiler(nil, nil, nil)
	for _, tc := range []struct {
		why      string
		raw      string
		args     []string
		d        dialect
		want     string // compiled text
		wantArgs int
		rows     bool
		err      string
	}{
		{why: "args fill $n", raw: "SELECT * FROM p WHERE id = $1", args: []string{"{{ id }}"}, d: postgresDialect,
			want: "SELECT * FROM p WHERE id = $1", wantArgs: 1, rows: true},
		{why: "inline actions become numbered parameters", raw: "UPDATE a SET b = b + {{ delta }} WHERE aid = {{aid}}", d: postgresDialect,
			want: "UPDATE a SET b = b + $1 WHERE aid = $2", wantArgs: 2},
		{why: "inline actions become ? for SQLite", raw: "SELECT name FROM p WHERE id = {{ id }} LIMIT {{ n }}", d: sqliteDialect,
			want: "SELECT name FROM p WHERE id = ? LIMIT ?", wantArgs: 2, rows: true},
		{why: "a }} inside an action's string literal does not end it", raw: `SELECT {{ "}}" }}`, d: postgresDialect,
			want: "SELECT $1", wantArgs: 1, rows: true},
		{why: "quoted {{ is refused, not sent as a literal", raw: "SELECT * FROM p WHERE name = '{{ name }}'", d: postgresDialect,
			err: "inside quotes"},
		{why: "dollar-quoted {{ is refused", raw: "SELECT $x$ {{ name }} $x$", d: postgresDialect, err: "inside quotes"},
		{why: "a comment's {{ is not an action", raw: "SELECT 1 -- {{ nothing }}\n", d: postgresDialect,
			want: "SELECT 1 -- {{ nothing }}\n", rows: true},
		{why: "a $n inside a string is not a parameter", raw: "SELECT '$1', $1", args: []string{"x"}, d: postgresDialect,
			want: "SELECT '$1', $1", wantArgs: 1, rows: true},
		{why: "too few args for the parameters", raw: "SELECT $1, $2", args: []string{"x"}, d: postgresDialect,
			err: "2 $n parameter(s) but args gives 1"},
		{why: "args without parameters", raw: "SELECT 1", args: []string{"x"}, d: sqliteDialect,
			err: "0 ? parameter(s) but args gives 1"},
		{why: "? in a PostgreSQL statement is the jsonb operator", raw: "SELECT d ? 'k' FROM t WHERE id = $1", args: []string{"1"}, d: postgresDialect,
			want: "SELECT d ? 'k' FROM t WHERE id = $1", wantArgs: 1, rows: true},
		{why: "MySQL backslash escapes keep the string open", raw: `SELECT 'it\'s ?', ?`, args: []string{"x"}, d: mysqlDialect,
			want: `SELECT 'it\'s ?', ?`, wantArgs: 1, rows: true},
		{why: "mixing args and actions is ambiguous", raw: "SELECT $1, {{ x }}", args: []string{"1"}, d: postgresDialect,
			err: "one or the other"},
		{why: "mixing $n and actions is ambiguous", raw: "SELECT $1, {{ x }}", d: postgresDialect, err: "mixes"},
		{why: "an action glued to a digit would merge into $10", raw: "SELECT {{ a }}0", d: postgresDialect, err: "touches"},
		{why: "an action glued to a name would become part of it", raw: "SELECT x{{ a }}", d: postgresDialect, err: "touches"},
		{why: "a cast after an action is fine", raw: "SELECT {{ a }}::int", d: postgresDialect, want: "SELECT $1::int", wantArgs: 1, rows: true},
		{why: "unterminated quote", raw: "SELECT 'abc", d: postgresDialect, err: "unterminated"},
		{why: "RETURNING returns rows", raw: "INSERT INTO t VALUES ({{ x }}) RETURNING id", d: sqliteDialect,
			want: "INSERT INTO t VALUES (?) RETURNING id", wantArgs: 1, rows: true},
		{why: "SQLite numbered parameters", raw: "SELECT ?1, ?2, ?1", args: []string{"a", "b"}, d: sqliteDialect,
			want: "SELECT ?1, ?2, ?1", wantArgs: 2, rows: true},
	} {
		st, err := compileStatement(tc.raw, tc.args, tc.d, c)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want one containing %q", tc.why, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.why, err)
			continue
		}
		if st.text != tc.want || len(st.args) != tc.wantArgs || st.rows != tc.rows {
			t.Errorf("%s: got %q with %d args (rows %v), want %q with %d (rows %v)", tc.why, st.text, len(st.args), st.rows, tc.want, tc.wantArgs, tc.rows)
		}
	}
}

func TestDSN(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://app:s3cret@db:5432/shop", "postgres://app:xxxxx@db:5432/shop"},
		{"host=db user=app password=s3cret dbname=shop", "host=db user=app password=xxxxx dbname=shop"},
		{"app:s3cret@tcp(db:3306)/shop", "app:xxxxx@tcp(db:3306)/shop"},
		{"file:/tmp/shop.db", "file:/tmp/shop.db"},
	} {
		if got := Redact(tc.dsn); got != tc.want {
			t.Errorf("Redact(…) = %q, want %q", got, tc.want)
		}
		if strings.Contains(scrub("failed: "+tc.dsn, tc.dsn), "s3cret") {
			t.Errorf("scrub left the password in a message quoting %q", Redact(tc.dsn))
		}
	}
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://u@h/db", Postgres},
		{"postgresql://u@h/db", Postgres},
		{"host=/tmp dbname=x", Postgres},
		{"mysql://u:p@h/db", MySQL},
		{"u:p@tcp(h:3306)/db", MySQL},
		{"sqlite:/tmp/x.db", SQLite},
		{"/var/lib/shop.sqlite", SQLite},
		{"file:shop.db?_pragma=busy_timeout(5000)", SQLite},
		{"what", ""},
	} {
		if got := DriverFor(tc.dsn); got != tc.want {
			t.Errorf("DriverFor(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
	if got, _ := mysqlDSN("mysql://u:p@db/shop?parseTime=true"); got != "u:p@tcp(db:3306)/shop?parseTime=true" {
		t.Errorf("mysqlDSN = %q", got)
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
		ok   bool
	}{
		{nil, "", false},
		{int32(42), "42", true},
		{int64(-7), "-7", true},
		{"abc", "abc", true},
		{[]byte("xyz"), "xyz", true},
		{1.5, "1.5", true},
		{true, "true", true},
		{[16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}, "12345678-9abc-def0-1234-56789abcdef0", true},
	} {
		got, ok := text(tc.v)
		if got != tc.want || ok != tc.ok {
			t.Errorf("text(%#v) = %q, %v; want %q, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzCompileStatement: any statement either fails to compile or comes
// out with one value per parameter it has, and nothing of a {{ }} action
// left outside quotes and comments.
func FuzzCompileStatement(f *testing.F) {
	for _, seed := range []string{
		"SELECT * FROM t WHERE id = {{ id }}",
		"UPDATE a SET b = b + {{ d }} WHERE c = {{ random_int(1, 9) }} -- {{ no }}",
		"SELECT '{{', $x$ }} $x$, \"{{\" FROM t",
		"SELECT {{ \"}}\" }}, E'\\'' /* {{ */",
		"SELECT ?1, ?, `a{{`, [b{{] # x",
	} {
		f.Add(seed, uint8(0))
		f.Add(seed, uint8(2))
	}
	c := tmpl.NewCompiler(nil, nil, nil)
	dialects := []dialect{postgresDialect, mysqlDialect, sqliteDialect}
	f.Fuzz(func(t *testing.T, raw string, which uint8) {
		d := dialects[int(which)%len(dialects)]
		st, err := compileStatement(raw, nil, d, c)
		if err != nil {
			return
		}
		sc, err := scanSQL(st.text, d)
		if err != nil {
			t.Fatalf("compiled %q into %q, which does not scan: %v", raw, st.text, err)
		}
		if len(sc.actions) != 0 {
			t.Fatalf("compiled %q into %q, which still has actions", raw, st.text)
		}
		if sc.params != len(st.args) {
			t.Fatalf("compiled %q into %q with %d parameters and %d values", raw, st.text, sc.params, len(st.args))
		}
	})
}
