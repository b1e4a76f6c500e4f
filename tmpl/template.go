package tmpl

import (
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/stampede-perf/stampede/internal/suggest"
)

// maxRandomString bounds random_string(n) so that a typo cannot make every
// request carry megabytes of noise.
const maxRandomString = 1 << 16

// Compiler compiles template text against what the plan declares: its
// feeders, its constant variables and the environment. It is immutable and
// safe for concurrent use.
type Compiler struct {
	feeders map[string]*Feeder
	vars    map[string]string
	getenv  func(string) string
}

// NewCompiler returns a Compiler that knows the given feeders (by the name
// templates use, as in `{{ name.column }}`), the plan-level variables and
// how to read the environment. The maps are copied; nil feeders are
// ignored; a nil getenv reads every environment variable as "". A feeder
// or variable whose name is not a template name (see the package doc)
// cannot be referenced; the plan validator is the place to reject it.
func NewCompiler(feeders map[string]*Feeder, vars map[string]string, getenv func(string) string) *Compiler {
	c := &Compiler{
		feeders: make(map[string]*Feeder, len(feeders)),
		vars:    maps.Clone(vars),
		getenv:  getenv,
	}
	for name, f := range feeders {
		if f != nil {
			c.feeders[name] = f
		}
	}
	if c.getenv == nil {
		c.getenv = func(string) string { return "" }
	}
	return c
}

// Template is a compiled template. It is immutable and safe for concurrent
// use; the per-VU part of an expansion lives in the State passed to Append.
type Template struct {
	raw    string
	ops    []op
	static bool
	lit    string   // the whole expansion when static
	hint   int      // expected expansion size, for String
	vars   []string // variables without a plan-level value, in order of first use
}

type opKind uint8

const (
	opLit opKind = iota
	opVar
	opFeed
	opVU
	opIter
	opUUID
	opRandInt
	opRandString
	opTimestamp
	opEnv // an environment variable's value, read at compile time
)

// op is one step of an expansion. One struct for all kinds keeps the ops in
// one flat slice, walked without interface calls.
type op struct {
	kind   opKind
	hasDef bool    // opVar: def is the plan-level value
	text   string  // opLit: the text; opVar: the variable name; opEnv: the value
	def    string  // opVar: value when no extractor set the variable
	feeder *Feeder // opFeed
	col    int     // opFeed: column index
	lo     int64   // opRandInt: lower bound
	span   uint64  // opRandInt: hi-lo; opRandString: length
}

// Raw returns the template text as written.
func (t *Template) Raw() string { return t.raw }

// Static reports whether the template expands to the same text for every
// State: it reads no variable, feeder, function or counter. A static
// template may be expanded with a nil State, and callers may expand it once
// and reuse the result.
func (t *Template) Static() bool { return t.static }

// Vars returns the variables the template reads that have no plan-level
// value, in order of first use: the ones some earlier step must extract.
// The slice is a copy.
func (t *Template) Vars() []string { return slices.Clone(t.vars) }

// Append appends the expansion of t for the VU whose state is s to dst and
// returns the extended buffer. It allocates only when dst must grow. A
// variable without a value expands to "" and is recorded in s (see
// State.Missing). s may be nil for a static template; for any other template
// a nil s expands every dynamic part to "".
func (t *Template) Append(dst []byte, s *State) []byte {
	if t.static {
		return append(dst, t.lit...)
	}
	if s == nil {
		for i := range t.ops {
			if k := t.ops[i].kind; k == opLit || k == opEnv {
				dst = append(dst, t.ops[i].text...)
			}
		}
		return dst
	}
	for i := range t.ops {
		dst = appendOp(dst, &t.ops[i], s)
	}
	return dst
}

// appendOp appends the expansion of one op for a non-nil s.
func appendOp(dst []byte, o *op, s *State) []byte {
	switch o.kind {
	case opLit, opEnv:
		dst = append(dst, o.text...)
	case opVar:
		if v, ok := s.Get(o.text); ok {
			dst = append(dst, v...)
		} else if o.hasDef {
			dst = append(dst, o.def...)
		} else if s.missing == "" {
			s.missing = o.text
		}
	case opFeed:
		dst = append(dst, s.row(o.feeder)[o.col]...)
	case opVU:
		dst = strconv.AppendInt(dst, int64(s.vu), 10)
	case opIter:
		dst = strconv.AppendInt(dst, s.iter, 10)
	case opUUID:
		dst = appendUUID(dst, s.Rand().Uint64(), s.Rand().Uint64())
	case opRandInt:
		dst = strconv.AppendInt(dst, randInt(s, o.lo, o.span), 10)
	case opRandString:
		dst = appendRandString(dst, s, int(o.span))
	case opTimestamp:
		dst = strconv.AppendInt(dst, s.clock().UnixMilli(), 10)
	}
	return dst
}

// String returns the expansion of t for s. A static template returns its
// text without allocating; otherwise the result costs one allocation.
func (t *Template) String(s *State) string {
	if t.static {
		return t.lit
	}
	b := t.Append(make([]byte, 0, t.hint), s)
	if len(b) == 0 {
		return ""
	}
	// b is not reachable from anywhere else and is never written again, so
	// viewing it as a string is safe and saves a copy (as strings.Builder
	// does).
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func randInt(s *State, lo int64, span uint64) int64 {
	r := s.Rand()
	if span == ^uint64(0) {
		return lo + int64(r.Uint64())
	}
	return lo + int64(r.Uint64N(span+1))
}

// appendUUID appends a version 4, variant 10 UUID made of hi and lo in its
// canonical 8-4-4-4-12 form.
func appendUUID(dst []byte, hi, lo uint64) []byte {
	var b [16]byte
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	dst = hex.AppendEncode(dst, b[0:4])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, b[4:6])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, b[6:8])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, b[8:10])
	dst = append(dst, '-')
	return hex.AppendEncode(dst, b[10:16])
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// appendRandString appends n characters drawn uniformly from alnum. Each
// 64-bit draw yields up to eight characters; bytes of 248 and above are
// rejected so that byte%62 stays uniform (248 = 4*62).
func appendRandString(dst []byte, s *State, n int) []byte {
	dst = slices.Grow(dst, n)
	r := s.Rand()
	for n > 0 {
		x := r.Uint64()
		for k := 0; k < 8 && n > 0; k++ {
			c := byte(x)
			x >>= 8
			if c < 248 {
				dst = append(dst, alnum[c%62])
				n--
			}
		}
	}
	return dst
}

// SyntaxError is a template that does not compile. Line and Column are
// 1-based; Column counts characters, not bytes.
type SyntaxError struct {
	Line, Column int
	Msg          string
	Hint         string // what to write instead, may be empty

	multiline bool // the template has several lines, so the line is worth printing
}

func (e *SyntaxError) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	if e.multiline {
		fmt.Fprintf(&b, " at line %d, column %d", e.Line, e.Column)
	} else {
		fmt.Fprintf(&b, " at column %d", e.Column)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, " (%s)", e.Hint)
	}
	return b.String()
}

// Compile parses s once. The Template it returns expands s per request; the
// error, a *SyntaxError, says where s is wrong and how to fix it.
func (c *Compiler) Compile(s string) (*Template, error) {
	if !strings.Contains(s, "{{") {
		return &Template{raw: s, static: true, lit: s}, nil
	}
	p := parser{c: c, src: s}
	for {
		i := strings.Index(s[p.pos:], "{{")
		if i < 0 {
			p.lit = append(p.lit, s[p.pos:]...)
			break
		}
		p.lit = append(p.lit, s[p.pos:p.pos+i]...)
		open := p.pos + i
		p.pos = open + 2
		if err := p.action(open); err != nil {
			return nil, err
		}
	}
	p.flush()
	t := &Template{raw: s, ops: p.ops, vars: p.vars}
	t.static = true
	var lit strings.Builder
	for _, o := range t.ops {
		if o.kind != opLit && o.kind != opEnv {
			t.static = false
			break
		}
		lit.WriteString(o.text)
	}
	if t.static {
		t.lit = lit.String()
	}
	for _, o := range t.ops {
		if o.kind == opLit || o.kind == opEnv {
			t.hint += len(o.text)
		} else {
			t.hint += 36
		}
	}
	return t, nil
}

type parser struct {
	c    *Compiler
	src  string
	pos  int
	lit  []byte // literal text not yet emitted
	ops  []op
	vars []string
}

func (p *parser) flush() {
	if len(p.lit) > 0 {
		p.ops = append(p.ops, op{kind: opLit, text: string(p.lit)})
		p.lit = p.lit[:0]
	}
}

func (p *parser) emit(o op) {
	p.flush()
	p.ops = append(p.ops, o)
}

func (p *parser) errAt(pos int, hint, format string, args ...any) error {
	before := p.src[:pos]
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return &SyntaxError{
		Line:      1 + strings.Count(before, "\n"),
		Column:    1 + utf8.RuneCountInString(before[lineStart:]),
		Msg:       fmt.Sprintf(format, args...),
		Hint:      hint,
		multiline: strings.Contains(p.src, "\n"),
	}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) rest() string { return p.src[p.pos:] }

// unexpected describes the character at p.pos for an error message.
func (p *parser) unexpected() string {
	r, _ := utf8.DecodeRuneInString(p.rest())
	return strconv.QuoteRune(r)
}

const exprHint = `an action holds a name like order_id or users.email, a function like random_int(1, 100), or a "string"`

// action parses one `{{ expr }}`; open is the offset of its `{{`.
func (p *parser) action(open int) error {
	p.skipSpace()
	switch {
	case p.pos == len(p.src):
		return p.errAt(open, "close it with }}", "unclosed {{")
	case strings.HasPrefix(p.rest(), "}}"):
		return p.errAt(open, `write {{ "{{" }} for literal braces`, "empty {{ }}")
	case p.src[p.pos] == '"':
		if err := p.stringLit(); err != nil {
			return err
		}
	case isNameStart(p.src[p.pos]):
		if err := p.name(); err != nil {
			return err
		}
	default:
		return p.errAt(p.pos, exprHint, "unexpected %s", p.unexpected())
	}
	p.skipSpace()
	switch {
	case p.pos == len(p.src):
		return p.errAt(open, "close it with }}", "unclosed {{")
	case !strings.HasPrefix(p.rest(), "}}"):
		return p.errAt(p.pos, "an action holds one expression", "unexpected %s, want }}", p.unexpected())
	}
	p.pos += 2
	return nil
}

func (p *parser) stringLit() error {
	start := p.pos
	for i := start + 1; i < len(p.src); i++ {
		switch p.src[i] {
		case '\\':
			i++
		case '\n':
			return p.errAt(start, `close it with " on the same line`, "unterminated string")
		case '"':
			v, err := strconv.Unquote(p.src[start : i+1])
			if err != nil {
				return p.errAt(start, `use Go escapes such as \" and \\`, "invalid string %s", p.src[start:i+1])
			}
			p.lit = append(p.lit, v...)
			p.pos = i + 1
			return nil
		}
	}
	return p.errAt(start, `close it with "`, "unterminated string")
}

func isNameStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isNameChar(c byte) bool {
	return isNameStart(c) || '0' <= c && c <= '9' || c == '-' || c == '.'
}

// funcSig returns how a built-in function is called and how many
// arguments it takes; ok is false for a name that is not a function.
func funcSig(name string) (sig string, nargs int, ok bool) {
	switch name {
	case "uuid", "timestamp", "vu", "iteration":
		return name + "()", 0, true
	case "random_int":
		return "random_int(lo, hi)", 2, true
	case "random_string":
		return "random_string(n)", 1, true
	}
	return "", 0, false
}

// funcAlias maps names people bring from other tools to ours.
func funcAlias(name string) string {
	switch name {
	case "rand_int", "randint", "random", "rand", "random_number", "randomint", "randint64":
		return "random_int"
	case "rand_string", "randstr", "random_str", "randomstring", "random_alphanumeric":
		return "random_string"
	case "uuid4", "uuidv4", "guid", "random_uuid", "uuid_v4":
		return "uuid"
	case "now", "time", "ts", "timestamp_ms", "unix_ms":
		return "timestamp"
	case "iter", "iteration_id", "iter_id":
		return "iteration"
	case "vu_id", "vuid":
		return "vu"
	}
	return ""
}

func (p *parser) name() error {
	start := p.pos
	for p.pos < len(p.src) && isNameChar(p.src[p.pos]) {
		p.pos++
	}
	name := p.src[start:p.pos]
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '(' {
		return p.call(name, start)
	}
	if strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return p.errAt(start, "", "name %q has an empty part", name)
	}
	switch name {
	case "vu":
		p.emit(op{kind: opVU})
		return nil
	case "iteration":
		p.emit(op{kind: opIter})
		return nil
	case "uuid":
		p.emit(op{kind: opUUID})
		return nil
	case "timestamp":
		p.emit(op{kind: opTimestamp})
		return nil
	case "random_int", "random_string":
		sig, _, _ := funcSig(name)
		return p.errAt(start, "use "+sig, "%s needs arguments", name)
	case "env":
		return p.errAt(start, "use env.NAME", "env needs a variable name")
	}
	if key, ok := strings.CutPrefix(name, "env."); ok {
		return p.env(key, start)
	}
	if f, ok := p.c.feeders[name]; ok {
		return p.errAt(start, fmt.Sprintf("use %s.COLUMN; columns: %s", name, strings.Join(f.columns, ", ")),
			"feeder %q needs a column", name)
	}
	for i := range len(name) {
		if name[i] != '.' {
			continue
		}
		f, ok := p.c.feeders[name[:i]]
		if !ok {
			continue
		}
		col, ok := f.index[name[i+1:]]
		if !ok {
			return p.errAt(start, "columns: "+strings.Join(f.columns, ", "),
				"feeder %q has no column %q", name[:i], name[i+1:])
		}
		p.emit(op{kind: opFeed, feeder: f, col: col})
		return nil
	}
	def, hasDef := p.c.vars[name]
	p.emit(op{kind: opVar, text: name, def: def, hasDef: hasDef})
	if !hasDef && !slices.Contains(p.vars, name) {
		p.vars = append(p.vars, name)
	}
	return nil
}

// env reads environment variable key, with p.pos past its name: `{{
// env.NAME }}` needs it set (an unset variable would send requests with a
// hole in them, as a DSN's ${NAME} would not connect), `{{ env.NAME or
// "text" }}` falls back to text. Unset and empty are the same, as for
// DSNs.
func (p *parser) env(key string, start int) error {
	v := p.c.getenv(key)
	rest := p.rest()
	if strings.HasPrefix(rest, "or") && (len(rest) == 2 || !isNameChar(rest[2])) {
		orPos := p.pos
		p.pos += 2
		p.skipSpace()
		if p.pos == len(p.src) || p.src[p.pos] != '"' {
			return p.errAt(orPos, fmt.Sprintf(`write {{ env.%s or "text" }}`, key), "or needs a quoted default")
		}
		n := len(p.lit)
		if err := p.stringLit(); err != nil {
			return err
		}
		def := string(p.lit[n:])
		p.lit = p.lit[:n]
		if v == "" {
			v = def
		}
	} else if v == "" {
		return p.errAt(start, fmt.Sprintf(`set it, or give a default: {{ env.%s or "text" }}`, key), "environment variable %s is not set", key)
	}
	// Kept apart from the literal text: a URL escapes it as a value.
	p.emit(op{kind: opEnv, text: v})
	return nil
}

// call parses `name(args)` with p.pos at the '('.
func (p *parser) call(name string, start int) error {
	sig, want, ok := funcSig(name)
	if !ok {
		return p.errAt(start, suggestFunc(name), "unknown function %q", name)
	}
	p.pos++ // '('
	args, argPos, err := p.args(name, sig)
	if err != nil {
		return err
	}
	if len(args) != want {
		return p.errAt(start, "use "+sig, "%s takes %d arguments, got %d", name, want, len(args))
	}
	switch name {
	case "uuid":
		p.emit(op{kind: opUUID})
	case "timestamp":
		p.emit(op{kind: opTimestamp})
	case "vu":
		p.emit(op{kind: opVU})
	case "iteration":
		p.emit(op{kind: opIter})
	case "random_int":
		lo, hi := args[0], args[1]
		if lo > hi {
			return p.errAt(argPos[0], "use random_int(lo, hi) with lo <= hi", "random_int bounds %d > %d", lo, hi)
		}
		p.emit(op{kind: opRandInt, lo: lo, span: uint64(hi) - uint64(lo)})
	case "random_string":
		n := args[0]
		if n < 1 || n > maxRandomString {
			return p.errAt(argPos[0], fmt.Sprintf("use a length from 1 to %d", maxRandomString), "random_string length %d", n)
		}
		p.emit(op{kind: opRandString, span: uint64(n)})
	}
	return nil
}

// args parses integer literal arguments up to and including ')'.
func (p *parser) args(fn, sig string) (args []int64, pos []int, err error) {
	open := p.pos - 1
	for {
		p.skipSpace()
		if p.pos == len(p.src) {
			return nil, nil, p.errAt(open, "close it with )", "unclosed (")
		}
		if p.src[p.pos] == ')' && len(args) == 0 {
			p.pos++
			return args, pos, nil
		}
		start := p.pos
		if p.src[p.pos] == '-' || p.src[p.pos] == '+' {
			p.pos++
		}
		for p.pos < len(p.src) && '0' <= p.src[p.pos] && p.src[p.pos] <= '9' {
			p.pos++
		}
		text := p.src[start:p.pos]
		v, perr := strconv.ParseInt(text, 10, 64)
		if perr != nil {
			if text == "" || text == "-" || text == "+" {
				return nil, nil, p.errAt(start, "use "+sig, "argument %d of %s must be an integer, got %s",
					len(args)+1, fn, p.unexpectedOrEnd())
			}
			return nil, nil, p.errAt(start, "use a value that fits in 64 bits", "argument %d of %s is out of range", len(args)+1, fn)
		}
		args, pos = append(args, v), append(pos, start)
		p.skipSpace()
		switch {
		case p.pos == len(p.src):
			return nil, nil, p.errAt(open, "close it with )", "unclosed (")
		case p.src[p.pos] == ',':
			p.pos++
		case p.src[p.pos] == ')':
			p.pos++
			return args, pos, nil
		default:
			return nil, nil, p.errAt(p.pos, "separate arguments with commas", "unexpected %s in arguments of %s", p.unexpected(), fn)
		}
	}
}

func (p *parser) unexpectedOrEnd() string {
	if p.pos == len(p.src) {
		return "end of template"
	}
	return p.unexpected()
}

// suggestFunc is the hint for an unknown function: the function the name
// most likely meant, or the list of functions.
func suggestFunc(name string) string {
	lower := strings.ToLower(name)
	if fn := funcAlias(lower); fn != "" {
		lower = fn
	}
	if sig, _, ok := funcSig(lower); ok {
		return "use " + sig
	}
	// Allow one edit per three characters, so that short names do not get
	// far-fetched suggestions.
	best, bestDist := "", len(lower)/3+1
	for _, fn := range []string{"iteration", "random_int", "random_string", "timestamp", "uuid", "vu"} {
		if d := suggest.Distance(lower, fn); d < bestDist {
			best, bestDist = fn, d
		}
	}
	if best != "" {
		sig, _, _ := funcSig(best)
		return "use " + sig
	}
	return "functions: uuid(), random_int(lo, hi), random_string(n), timestamp()"
}
