package tmpl

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stampede-perf/stampede/internal/racedetect"
)

// fixedClock is 2023-11-14T22:13:20.123Z.
func fixedClock() time.Time { return time.UnixMilli(1700000000123) }

// newTestCompiler returns a compiler with a fresh three-row feeder "users",
// two plan variables and a small environment.
func newTestCompiler(t testing.TB) *Compiler {
	t.Helper()
	users, err := NewFeeder([]string{"email", "password"},
		[][]string{{"a@x", "pa"}, {"b@x", "pb"}, {"c@x", "pc"}}, "sequential")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOST": "api.test"}
	return NewCompiler(
		map[string]*Feeder{"users": users},
		map[string]string{"base": "/v1", "shadowed": "plan"},
		func(k string) string { return env[k] },
	)
}

func newTestState(vu int) *State {
	return NewState(vu, rand.New(rand.NewPCG(1, uint64(vu))), fixedClock)
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name        string
		src         string
		set         map[string]string // variables extracted before expansion
		want        string
		wantStatic  bool
		wantMissing string
	}{
		{name: "text without actions is copied", src: "GET /health", want: "GET /health", wantStatic: true},
		{name: "empty template", src: "", want: "", wantStatic: true},
		{name: "no spaces inside braces", src: "{{vu}}", want: "7"},
		{name: "extra spaces and tabs inside braces", src: "{{ \t iteration   }}", want: "3"},
		{name: "built-ins accept empty parentheses", src: "{{ vu() }}/{{ iteration( ) }}", want: "7/3"},
		{name: "timestamp reads the injected clock in ms", src: "{{ timestamp }}", want: "1700000000123"},
		{name: "string literal writes literal braces", src: `{{ "{{" }} x }}`, want: "{{ x }}", wantStatic: true},
		{name: "string literal may hold }}", src: `a{{ "}}" }}b`, want: "a}}b", wantStatic: true},
		{name: "string literal takes Go escapes", src: `{{ "tab\there \"q\"" }}`, want: "tab\there \"q\"", wantStatic: true},
		{name: "lone }} in text is literal", src: "a }} b", want: "a }} b", wantStatic: true},
		{name: "env is resolved at compile time", src: "https://{{ env.HOST }}/x", want: "https://api.test/x", wantStatic: true},
		{name: "unset env takes its default", src: `[{{ env.NOPE or "d" }}]`, want: "[d]", wantStatic: true},
		{name: "an empty default is allowed", src: `[{{ env.NOPE or "" }}]`, want: "[]", wantStatic: true},
		{name: "a set env ignores its default", src: `{{ env.HOST or "x" }}`, want: "api.test", wantStatic: true},
		{name: "feeder columns of one iteration share a row", src: "{{ users.email }}:{{ users.password }}", want: "a@x:pa"},
		{name: "extracted variable", src: "/orders/{{ order_id }}", set: map[string]string{"order_id": "42"}, want: "/orders/42"},
		{name: "missing variable expands empty and is reported", src: "/orders/{{ order_id }}/items", want: "/orders//items", wantMissing: "order_id"},
		{name: "first missing variable is the one reported", src: "{{ a }}{{ b }}", want: "", wantMissing: "a"},
		{name: "plan variable is a default", src: "{{ base }}/x", want: "/v1/x"},
		{name: "extracted value shadows plan variable", src: "{{ shadowed }}", set: map[string]string{"shadowed": "extracted"}, want: "extracted"},
		{name: "variable names take dashes and dots", src: "{{ a-b.c }}", set: map[string]string{"a-b.c": "v"}, want: "v"},
		{name: "dotted name that is no feeder is a variable", src: "{{ order.id }}", set: map[string]string{"order.id": "9"}, want: "9"},
		{name: "multi-byte text around actions", src: "héllo {{ vu }} ✓", want: "héllo 7 ✓"},
		{name: "empty extracted value is a value, not missing", src: "[{{ x }}]", set: map[string]string{"x": ""}, want: "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := newTestCompiler(t).Compile(tt.src)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.src, err)
			}
			s := newTestState(7)
			s.NewIteration(3)
			for k, v := range tt.set {
				s.Set(k, v)
			}
			if got := string(tp.Append(nil, s)); got != tt.want {
				t.Errorf("Append = %q, want %q", got, tt.want)
			}
			if got := s.Missing(); got != tt.wantMissing {
				t.Errorf("Missing = %q, want %q", got, tt.wantMissing)
			}
			if got := tp.Static(); got != tt.wantStatic {
				t.Errorf("Static = %v, want %v", got, tt.wantStatic)
			}
			if tp.Raw() != tt.src {
				t.Errorf("Raw = %q, want %q", tp.Raw(), tt.src)
			}
		})
	}
}

func TestStringMatchesAppend(t *testing.T) {
	c := newTestCompiler(t)
	for _, src := range []string{"static", "{{ vu }}-{{ users.email }}-{{ x }}", "{{ missing }}"} {
		tp, err := c.Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		s := newTestState(1)
		s.Set("x", "y")
		// Both expansions are in one iteration, so they read the same row.
		a := string(tp.Append([]byte("prefix:"), s))
		if b := tp.String(s); "prefix:"+b != a {
			t.Errorf("%q: String = %q, Append = %q", src, b, a)
		}
	}
}

func TestAppendNilState(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"static template needs no state", "a{{ env.HOST }}", "aapi.test"},
		{"dynamic parts expand empty without a state", "a{{ vu }}b{{ x }}c{{ users.email }}", "abc"},
	}
	c := newTestCompiler(t)
	for _, tt := range tests {
		tp, err := c.Compile(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(tp.Append(nil, nil)); got != tt.want {
			t.Errorf("%s: Append(nil) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"misspelled function names the right one", "/orders?n={{ rand_int(1, 5) }}",
			`unknown function "rand_int" at column 14 (use random_int(lo, hi))`},
		{"near-miss function by edit distance", "{{ randm_string(5) }}",
			`unknown function "randm_string" at column 4 (use random_string(n))`},
		{"unrelated function lists all", "{{ frobnicate() }}",
			`unknown function "frobnicate" at column 4 (functions: uuid(), random_int(lo, hi), random_string(n), timestamp())`},
		{"unknown feeder column names the columns", "{{ users.emial }}",
			`feeder "users" has no column "emial" at column 4 (columns: email, password)`},
		{"feeder without column", "{{ users }}",
			`feeder "users" needs a column at column 4 (use users.COLUMN; columns: email, password)`},
		{"unclosed action points at its start", "x {{ order_id",
			`unclosed {{ at column 3 (close it with }})`},
		{"unclosed action with nothing inside", "x {{",
			`unclosed {{ at column 3 (close it with }})`},
		{"empty action", "ab {{ }}",
			`empty {{ }} at column 4 (write {{ "{{" }} for literal braces)`},
		{"random_int bounds reversed", "{{ random_int(5, 1) }}",
			`random_int bounds 5 > 1 at column 15 (use random_int(lo, hi) with lo <= hi)`},
		{"random_int arity", "{{ random_int(1) }}",
			`random_int takes 2 arguments, got 1 at column 4 (use random_int(lo, hi))`},
		{"random_int argument not a number", "{{ random_int(a, 2) }}",
			`argument 1 of random_int must be an integer, got 'a' at column 15 (use random_int(lo, hi))`},
		{"random_int argument overflows", "{{ random_int(1, 99999999999999999999) }}",
			`argument 2 of random_int is out of range at column 18 (use a value that fits in 64 bits)`},
		{"arguments missing a comma", "{{ random_int(1 2) }}",
			`unexpected '2' in arguments of random_int at column 17 (separate arguments with commas)`},
		{"arguments never closed", "{{ random_int(1, 2",
			`unclosed ( at column 14 (close it with ))`},
		{"random_string without arguments", "{{ random_string }}",
			`random_string needs arguments at column 4 (use random_string(n))`},
		{"random_string zero length", "{{ random_string(0) }}",
			`random_string length 0 at column 18 (use a length from 1 to 65536)`},
		{"random_string too long", "{{ random_string(65537) }}",
			`random_string length 65537 at column 18 (use a length from 1 to 65536)`},
		{"uuid takes no arguments", "{{ uuid(4) }}",
			`uuid takes 0 arguments, got 1 at column 4 (use uuid())`},
		{"unterminated string", `{{ "abc }}`,
			`unterminated string at column 4 (close it with ")`},
		{"string across lines", "{{ \"a\nb\" }}",
			`unterminated string at line 1, column 4 (close it with " on the same line)`},
		{"invalid escape", `{{ "\q" }}`,
			`invalid string "\q" at column 4 (use Go escapes such as \" and \\)`},
		{"two expressions in one action", "{{ vu iteration }}",
			`unexpected 'i', want }} at column 7 (an action holds one expression)`},
		{"number is not an expression", "{{ 1 }}",
			`unexpected '1' at column 4 (an action holds a name like order_id or users.email, a function like random_int(1, 100), or a "string")`},
		{"env alone", "{{ env }}",
			`env needs a variable name at column 4 (use env.NAME)`},
		{"unset env", "x{{ env.NOPE }}",
			`environment variable NOPE is not set at column 5 (set it, or give a default: {{ env.NOPE or "text" }})`},
		{"env default unquoted", "{{ env.NOPE or d }}",
			`or needs a quoted default at column 13 (write {{ env.NOPE or "text" }})`},
		{"env with empty name", "{{ env. }}",
			`name "env." has an empty part at column 4`},
		{"multi-line template reports the line", "{\n  \"id\": {{ nope() }}\n}",
			`unknown function "nope" at line 2, column 12 (functions: uuid(), random_int(lo, hi), random_string(n), timestamp())`},
		{"short unknown names get no far-fetched suggestion", "{{ x() }}",
			`unknown function "x" at column 4 (functions: uuid(), random_int(lo, hi), random_string(n), timestamp())`},
		{"column counts characters, not bytes", "é{{ uuid(a) }}",
			`argument 1 of uuid must be an integer, got 'a' at column 10 (use uuid())`},
	}
	c := newTestCompiler(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := c.Compile(tt.src)
			if err == nil {
				t.Fatalf("Compile(%q) = %q, want error %q", tt.src, tp.String(newTestState(1)), tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Compile(%q) error\n got: %s\nwant: %s", tt.src, err, tt.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("error is %T, want *SyntaxError", err)
			}
		})
	}
}

func TestVars(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"no variables", "{{ vu }} {{ users.email }} {{ env.HOST }}", nil},
		{"extracted variables in order of first use, once each", "{{ b }}{{ a }}{{ b }}", []string{"b", "a"}},
		{"plan variables need no extractor", "{{ base }}/{{ order_id }}", []string{"order_id"}},
	}
	c := newTestCompiler(t)
	for _, tt := range tests {
		tp, err := c.Compile(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		if got := tp.Vars(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Vars = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRandomInt(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi int64
	}{
		{"small range hits both ends", 1, 3},
		{"negative range", -5, -3},
		{"single value", 9, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := NewCompiler(nil, nil, nil).Compile("{{ random_int(" + strconv.FormatInt(tt.lo, 10) + ", " + strconv.FormatInt(tt.hi, 10) + ") }}")
			if err != nil {
				t.Fatal(err)
			}
			s := newTestState(1)
			seen := map[int64]bool{}
			for range 1000 {
				v, err := strconv.ParseInt(tp.String(s), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				if v < tt.lo || v > tt.hi {
					t.Fatalf("random_int(%d, %d) = %d, out of range", tt.lo, tt.hi, v)
				}
				seen[v] = true
			}
			if int64(len(seen)) != tt.hi-tt.lo+1 {
				t.Errorf("random_int(%d, %d) gave %d distinct values in 1000 draws, want all %d", tt.lo, tt.hi, len(seen), tt.hi-tt.lo+1)
			}
		})
	}
	// The full int64 range has a span that does not fit a uint64 bound.
	tp, err := NewCompiler(nil, nil, nil).Compile("{{ random_int(-9223372036854775808, 9223372036854775807) }}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strconv.ParseInt(tp.String(newTestState(1)), 10, 64); err != nil {
		t.Errorf("full-range random_int: %v", err)
	}
}

func TestRandomString(t *testing.T) {
	tp, err := NewCompiler(nil, nil, nil).Compile("{{ random_string(5000) }}")
	if err != nil {
		t.Fatal(err)
	}
	got := tp.String(newTestState(1))
	if len(got) != 5000 {
		t.Fatalf("len = %d, want 5000", len(got))
	}
	count := map[rune]int{}
	for _, r := range got {
		if !strings.ContainsRune(alnum, r) {
			t.Fatalf("random_string has %q, not alphanumeric", r)
		}
		count[r]++
	}
	// 5000 draws over 62 symbols: each is expected ~80 times; missing one
	// entirely has probability ~62*e^-80.
	if len(count) != 62 {
		t.Errorf("random_string used %d of 62 symbols", len(count))
	}
}

func TestUUID(t *testing.T) {
	tp, err := NewCompiler(nil, nil, nil).Compile("{{ uuid }}|{{ uuid() }}")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestState(1)
	seen := map[string]bool{}
	for range 200 {
		for _, v := range strings.Split(tp.String(s), "|") {
			u, err := uuid.Parse(v)
			if err != nil {
				t.Fatalf("%q: %v", v, err)
			}
			if u.Version() != 4 || u.Variant() != uuid.RFC4122 {
				t.Fatalf("%q: version %d variant %v, want 4 RFC4122", v, u.Version(), u.Variant())
			}
			if u.String() != v {
				t.Fatalf("%q is not canonical (%q)", v, u.String())
			}
			if seen[v] {
				t.Fatalf("%q repeated", v)
			}
			seen[v] = true
		}
	}
}

func TestSeedReproduces(t *testing.T) {
	tp, err := NewCompiler(nil, nil, nil).Compile("{{ uuid }} {{ random_int(0, 1000000) }} {{ random_string(12) }}")
	if err != nil {
		t.Fatal(err)
	}
	a, b, other := newTestState(3), newTestState(3), newTestState(4)
	x, y, z := tp.String(a), tp.String(b), tp.String(other)
	if x != y {
		t.Errorf("same seed and VU: %q != %q", x, y)
	}
	if x == z {
		t.Errorf("different VUs expanded the same random values %q", x)
	}
}

func TestStateIteration(t *testing.T) {
	c := newTestCompiler(t)
	tp, err := c.Compile("{{ iteration }}:{{ id }}")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestState(1)
	s.NewIteration(1)
	s.Set("id", "a")
	s.Set("id", "b") // a later extraction replaces the value
	if got := tp.String(s); got != "1:b" {
		t.Errorf("iteration 1 = %q, want 1:b", got)
	}
	s.NewIteration(2)
	if got := tp.String(s); got != "2:" || s.Missing() != "id" {
		t.Errorf("iteration 2 = %q missing %q, want \"2:\" missing id (variables do not outlive the iteration)", got, s.Missing())
	}
	s.ClearMissing()
	if s.Missing() != "" {
		t.Errorf("ClearMissing left %q", s.Missing())
	}
	s.NewIteration(3)
	if s.Missing() != "" {
		t.Errorf("NewIteration left missing %q", s.Missing())
	}
	if _, ok := s.Get("id"); ok {
		t.Error("Get found a variable of the previous iteration")
	}
}

func TestZeroState(t *testing.T) {
	// A zero State must not panic: it gets a generator and the real clock.
	tp, err := newTestCompiler(t).Compile("{{ vu }} {{ uuid }} {{ timestamp }} {{ users.email }} {{ x }}")
	if err != nil {
		t.Fatal(err)
	}
	var s State
	if got := tp.String(&s); !strings.HasPrefix(got, "0 ") || s.Missing() != "x" {
		t.Errorf("zero State: %q missing %q", got, s.Missing())
	}
}

func TestNoAllocs(t *testing.T) {
	racedetect.Skip(t, "the race detector changes allocation counts")
	c := newTestCompiler(t)
	tp, err := c.Compile(`{"email":"{{ users.email }}","order":"{{ order_id }}","base":"{{ base }}","vu":{{ vu }},"n":{{ random_int(1, 100) }},"id":"{{ uuid }}","s":"{{ random_string(8) }}","t":{{ timestamp }}}`)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestState(1)
	buf := make([]byte, 0, 1024)
	iter := int64(0)
	allocs := testing.AllocsPerRun(100, func() {
		iter++
		s.NewIteration(iter)
		s.Set("order_id", "o-1")
		buf = tp.Append(buf[:0], s)
	})
	if allocs != 0 {
		t.Errorf("NewIteration+Set+Append: %v allocs, want 0", allocs)
	}
	static, err := c.Compile("{{ env.HOST }}/x")
	if err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = static.String(s) }); allocs != 0 {
		t.Errorf("static String: %v allocs, want 0", allocs)
	}
}
