package plan

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/stampede-perf/stampede/internal/suggest"
)

// Decoding walks the YAML syntax tree alongside the plan's Go types instead
// of handing the document to a struct decoder: a struct decoder stops at the
// first type error and ignores unknown keys, while a plan author wants every
// mistake at once, typos included, each with its line and column. The walk
// also records the position of every field path so later stages can point
// at the line that caused their error.

// Limits that keep hostile documents (alias bombs, deep nesting) cheap.
const (
	maxNodes = 1_000_000 // nodes visited, counting alias expansions
	maxDepth = 200       // decoding depth: nested mappings, lists and pointers
)

// Load reads the plan file at path and parses it (see Parse); the plan's
// File is path.
func Load(path string) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read plan: %w", err)
	}
	defer f.Close()
	// Read one byte past the limit to tell a file at the limit from a
	// larger one without trusting its size (a pipe has none).
	data, err := io.ReadAll(io.LimitReader(f, MaxPlanBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read plan: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a plan document, resolves relative feeder files against the
// directory of file (making them absolute), applies defaults and validates. file names the document
// in problems and becomes the plan's File. On failure the plan is nil and
// the error is a *ValidationError listing every problem found in file
// order: YAML syntax (the first one only, as the rest of the document cannot
// be trusted), type errors, unknown fields and semantic problems. Semantic
// problems that only follow from a decoding problem (a missing value that
// was written wrongly or under a misspelt key) are left out.
func Parse(file string, data []byte) (*Plan, error) {
	d := &decoder{
		file:    file,
		pos:     map[string]position{"": {line: 1, col: 1}},
		bad:     map[string]bool{},
		structs: map[reflect.Type]*structInfo{},
		active:  map[ast.Node]bool{},
	}
	if len(data) > MaxPlanBytes {
		return nil, &ValidationError{Problems: []Problem{{File: file,
			Msg: fmt.Sprintf("the plan is larger than %s, the most a plan file may be (move data into feeders under data:)", bytesText(MaxPlanBytes))}}}
	}
	p := &Plan{File: file}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, &ValidationError{Problems: clampLines([]Problem{syntaxProblem(file, err)}, data)}
	}
	d.document(f, p)
	p.pos = d.pos

	resolveFeeders(p, file)
	resolveFiles(p, file)
	resolveProtoFiles(p, file)
	resolveSystemDisk(p, file)
	p.ApplyDefaults()

	problems := d.problems
	if err := p.Validate(); err != nil {
		for _, pr := range err.(*ValidationError).Problems {
			if !d.explained(pr.Path) {
				problems = append(problems, pr)
			}
		}
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return nil, &ValidationError{Problems: clampLines(problems, data)}
	}
	return p, nil
}

// resolveFeeders makes relative feeder files relative to the plan file's
// directory instead of the working directory, and absolute, so that
// resolving them again anywhere later is harmless. The working directory
// is the one the plan file itself was opened from.
func resolveFeeders(p *Plan, file string) {
	if file == "" {
		return
	}
	for _, fd := range p.Data {
		if fd == nil || fd.File == "" || filepath.IsAbs(fd.File) {
			continue
		}
		path := filepath.Join(filepath.Dir(file), fd.File)
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		fd.File = path
	}
}

// clampLines keeps problems inside the document: the YAML library can place
// a position past the end when a quoted string spans a \r\n line break.
func clampLines(ps []Problem, data []byte) []Problem {
	n := lineCount(data)
	for i := range ps {
		if ps[i].Line > n {
			ps[i].Line, ps[i].Col = n, 1
		}
	}
	return ps
}

// lineCount counts lines as YAML does: \n, \r\n and a lone \r each end
// one.
func lineCount(data []byte) int {
	return bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 1
}

// syntaxProblem turns a YAML parser error into a positioned Problem.
func syntaxProblem(file string, err error) Problem {
	pr := Problem{File: file, Line: 1, Col: 1, Msg: err.Error()}
	if e, ok := err.(interface {
		GetToken() *token.Token
		GetMessage() string
	}); ok {
		pr.Msg = strings.NewReplacer("\t", `\t`, "\r", `\r`, "\n", " ").Replace(e.GetMessage())
		if tk := e.GetToken(); tk != nil && tk.Position != nil && tk.Position.Line > 0 {
			pr.Line, pr.Col = tk.Position.Line, max(tk.Position.Column, 1)
		}
	}
	return pr
}

// decoder holds the state of one decoding walk.
type decoder struct {
	file     string
	pos      map[string]position
	problems []Problem
	// bad holds paths whose value was wrong or misspelt; validation
	// problems under them would only repeat the decoding problem.
	bad     map[string]bool
	structs map[reflect.Type]*structInfo
	// anchors maps an alias to the value of the anchor it names.
	anchors map[*ast.AliasNode]ast.Node
	// active holds the anchors being expanded, to reject recursive aliases.
	active  map[ast.Node]bool
	nodes   int
	depth   int
	stopped bool // a limit was hit; the rest of the document is skipped
}

// explained reports whether a validation problem at path follows from a
// problem already reported while decoding.
func (d *decoder) explained(path string) bool {
	for b := range d.bad {
		if under(path, b) {
			return true
		}
	}
	return false
}

// document decodes the first document of f into p.
func (d *decoder) document(f *ast.File, p *Plan) {
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			line, col := nodePos(doc.Body)
			if doc.Start != nil && doc.Start.Position != nil {
				line, col = doc.Start.Position.Line, doc.Start.Position.Column
			}
			d.problemAt(line, col, "", "a plan file holds one YAML document; found another one here")
			break
		}
		body = doc.Body
	}
	if body == nil {
		return
	}
	d.anchors = map[*ast.AliasNode]ast.Node{}
	d.bindAliases(body, map[string]ast.Node{}, 0)
	d.value(body, reflect.ValueOf(p).Elem(), "")
}

// bindAliases resolves every alias to the anchor of that name defined
// before it, in document order, as YAML requires. Its depth counts syntax
// nodes, a few per level of decoding, hence the larger limit; deeper
// documents are cut off by the decoding limit first.
func (d *decoder) bindAliases(n ast.Node, defined map[string]ast.Node, depth int) {
	if n == nil || depth > 4*maxDepth {
		return
	}
	switch n := n.(type) {
	case *ast.AnchorNode:
		if n.Name != nil {
			defined[scalarText(n.Name)] = n.Value
		}
		d.bindAliases(n.Value, defined, depth+1)
	case *ast.AliasNode:
		if n.Value != nil {
			if target, ok := defined[scalarText(n.Value)]; ok {
				d.anchors[n] = target
			}
		}
	case *ast.TagNode:
		d.bindAliases(n.Value, defined, depth+1)
	case *ast.MappingNode:
		for _, mv := range n.Values {
			d.bindAliases(mv, defined, depth+1)
		}
	case *ast.MappingValueNode:
		d.bindAliases(n.Key, defined, depth+1)
		d.bindAliases(n.Value, defined, depth+1)
	case *ast.MappingKeyNode:
		d.bindAliases(n.Value, defined, depth+1)
	case *ast.SequenceNode:
		for _, v := range n.Values {
			d.bindAliases(v, defined, depth+1)
		}
	}
}

// problemAt records a problem at an explicit position.
func (d *decoder) problemAt(line, col int, path, format string, args ...any) {
	if line < 1 {
		line, col = 1, 1
	}
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Col: max(col, 1), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// fail records that the value at path, written as n, is wrong.
func (d *decoder) fail(n ast.Node, path, format string, args ...any) {
	line, col := nodePos(n)
	if line < 1 {
		pos := lookupPos(d.pos, path)
		line, col = pos.line, pos.col
	}
	d.problemAt(line, col, path, format, args...)
	d.bad[path] = true
	if pos, ok := d.pos[path]; ok {
		pos.bad = true
		d.pos[path] = pos
	}
}

// record notes where the value of path was written: at the value, or at the
// key when the value is empty.
func (d *decoder) record(path string, key, value ast.Node) {
	n := value
	if isNull(value) && key != nil {
		n = key
	}
	if line, col := nodePos(n); line > 0 {
		d.pos[path] = position{line: line, col: col}
	}
}

// enter counts a node against the limits; it returns false when decoding
// must stop.
func (d *decoder) enter(n ast.Node, path string) bool {
	if d.stopped {
		return false
	}
	d.nodes++
	if d.nodes > maxNodes {
		d.stopped = true
		d.fail(n, path, "document too large (more than %d values after expanding aliases)", maxNodes)
		return false
	}
	if d.depth >= maxDepth {
		d.stopped = true
		d.fail(n, path, "nested more than %d levels deep", maxDepth)
		return false
	}
	return true
}

// resolve strips anchors and tags and follows aliases. The anchors it
// follows are marked as being expanded until the caller, done with the
// node, calls d.release(followed).
func (d *decoder) resolve(n ast.Node, path string) (node ast.Node, followed []ast.Node, ok bool) {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			target, found := d.anchors[v]
			if !found {
				d.fail(v, path, "undefined alias *%s", scalarText(v.Value))
				d.release(followed)
				return nil, nil, false
			}
			if d.active[target] {
				d.fail(v, path, "recursive alias *%s", scalarText(v.Value))
				d.release(followed)
				return nil, nil, false
			}
			d.active[target] = true
			followed = append(followed, target)
			n = target
		default:
			return n, followed, true
		}
	}
}

// release ends the expansion of the anchors resolve followed.
func (d *decoder) release(followed []ast.Node) {
	for _, n := range followed {
		delete(d.active, n)
	}
}

// value decodes n into v, recording problems under path.
func (d *decoder) value(n ast.Node, v reflect.Value, path string) {
	if !d.enter(n, path) {
		return
	}
	d.depth++
	defer func() { d.depth-- }()

	n, followed, ok := d.resolve(n, path)
	defer d.release(followed)
	if !ok || isNull(n) {
		return
	}

	switch v.Type() {
	case reflect.TypeFor[Duration]():
		if dur, ok := d.duration(n, path); ok {
			v.SetInt(int64(dur))
		}
		return
	case reflect.TypeFor[ByteSize]():
		if b, ok := d.byteSize(n, path); ok {
			v.SetInt(int64(b))
		}
		return
	case reflect.TypeFor[Bitrate]():
		d.bitrate(n, v, path)
		return
	case reflect.TypeFor[Share]():
		d.share(n, v, path)
		return
	case reflect.TypeFor[CookieMode]():
		d.cookieMode(n, v, path)
		return
	case reflect.TypeFor[Think]():
		d.think(n, v.Addr().Interface().(*Think), path)
		return
	case reflect.TypeFor[Loads]():
		d.loads(n, v.Addr().Interface().(*Loads), path)
		return
	case reflect.TypeFor[Threshold]():
		if s, ok := d.stringForm(n, path, `an expression like "p95 < 500ms" or {expr, scope, abort}`); ok {
			v.Addr().Interface().(*Threshold).Expr = s
			return
		}
	case reflect.TypeFor[PrometheusSpec]():
		if s, ok := d.stringForm(n, path, "a URL or {url, metrics}"); ok {
			v.Addr().Interface().(*PrometheusSpec).URL = s
			return
		}
	}

	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.value(n, elem.Elem(), path)
		v.Set(elem)
	case reflect.Struct:
		d.structValue(n, v, path)
	case reflect.Map:
		d.mapValue(n, v, path)
	case reflect.Slice:
		d.sliceValue(n, v, path)
	case reflect.Interface:
		if x, ok := d.anyValue(n, path); ok {
			if x == nil {
				return
			}
			v.Set(reflect.ValueOf(x))
		}
	case reflect.String:
		if s, ok := d.stringValue(n, path); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if b, ok := n.(*ast.BoolNode); ok {
			v.SetBool(b.Value)
		} else {
			d.fail(n, path, "expected true or false, got %s", describe(n))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		d.intValue(n, v, path)
	case reflect.Float32, reflect.Float64:
		if f, ok := d.floatValue(n, path); ok {
			v.SetFloat(f)
		}
	default:
		d.fail(n, path, "cannot decode into %s", v.Type())
	}
}

// stringForm handles the short string form of a type that is otherwise a
// mapping. It returns ok when n was that string; a non-string scalar is
// reported as a type error (also returning ok, as nothing is left to do).
func (d *decoder) stringForm(n ast.Node, path, want string) (string, bool) {
	switch x := n.(type) {
	case *ast.StringNode:
		return x.Value, true
	case *ast.LiteralNode:
		return literalText(x), true
	case *ast.MappingNode, *ast.MappingValueNode:
		return "", false
	}
	d.fail(n, path, "expected %s, got %s", want, describe(n))
	return "", true
}

// structInfo lists the YAML keys of a struct type in declaration order;
// the fields of a struct embedded with `yaml:",inline"` are its own.
type structInfo struct {
	names []string
	index map[string][]int
}

func (d *decoder) structOf(t reflect.Type) *structInfo {
	if si, ok := d.structs[t]; ok {
		return si
	}
	si := &structInfo{index: map[string][]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && opts == "inline" && f.Type.Kind() == reflect.Struct {
			inner := d.structOf(f.Type)
			for _, n := range inner.names {
				si.names = append(si.names, n)
				si.index[n] = append([]int{i}, inner.index[n]...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		si.names = append(si.names, name)
		si.index[name] = []int{i}
	}
	d.structs[t] = si
	return si
}

// entry is one key: value pair of a mapping, after merge keys are expanded.
type entry struct {
	key   string
	kn    ast.Node // the key as written, for positions
	value ast.Node
}

// entries lists the pairs of mapping m: its own keys first, then keys from
// merge keys (`<<: *defaults`) that it does not set itself.
func (d *decoder) entries(m *ast.MappingNode, path string) []entry {
	var own, merged []entry
	var merges []*ast.MappingValueNode
	seen := map[string]bool{}
	for _, mv := range m.Values {
		if mv == nil || mv.Key == nil {
			continue
		}
		if mv.Key.IsMergeKey() {
			merges = append(merges, mv)
			continue
		}
		key, ok := mapKey(mv.Key)
		if !ok {
			d.fail(mv.Key, path, "keys must be plain text, got %s", describe(mv.Key))
			continue
		}
		if seen[key] {
			d.fail(mv.Key, keyPath(path, key), "duplicate key")
			continue
		}
		seen[key] = true
		own = append(own, entry{key: key, kn: mv.Key, value: mv.Value})
	}
	for _, mv := range merges {
		for _, e := range d.mergeSources(mv.Value, path) {
			if !seen[e.key] {
				seen[e.key] = true
				merged = append(merged, e)
			}
		}
	}
	return append(own, merged...)
}

// mergeSources returns the pairs a merge key's value brings in: a mapping
// or a list of mappings (earlier ones win).
func (d *decoder) mergeSources(v ast.Node, path string) []entry {
	if !d.enter(v, path) {
		return nil
	}
	d.depth++
	defer func() { d.depth-- }()
	n, followed, ok := d.resolve(v, path)
	defer d.release(followed)
	if !ok {
		return nil
	}
	if m, ok := asMapping(n); ok {
		return d.entries(m, path)
	}
	switch n := n.(type) {
	case *ast.SequenceNode:
		var out []entry
		for _, item := range n.Values {
			out = append(out, d.mergeSources(item, path)...)
		}
		return out
	}
	d.fail(n, path, "a merge key (<<) needs a mapping or a list of mappings, got %s", describe(n))
	return nil
}

func (d *decoder) structValue(n ast.Node, v reflect.Value, path string) {
	m, ok := asMapping(n)
	if !ok {
		d.fail(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	si := d.structOf(v.Type())
	for _, e := range d.entries(m, path) {
		i, ok := si.index[e.key]
		if !ok {
			d.unknownField(e, si, path)
			continue
		}
		child := fieldPath(path, e.key)
		d.record(child, e.kn, e.value)
		d.value(e.value, v.FieldByIndex(i), child)
	}
}

// unknownField reports a key that is not a field, suggesting the closest.
func (d *decoder) unknownField(e entry, si *structInfo, path string) {
	line, col := nodePos(e.kn)
	child := keyPath(path, e.key)
	if s, ok := closestName(e.key, si.names); ok {
		d.problemAt(line, col, child, "unknown field (did you mean %q?)", s)
		// The field the author meant is missing; do not also report that.
		d.bad[fieldPath(path, s)] = true
		return
	}
	d.problemAt(line, col, child, "unknown field (known: %s)", strings.Join(si.names, ", "))
}

func (d *decoder) mapValue(n ast.Node, v reflect.Value, path string) {
	m, ok := asMapping(n)
	if !ok {
		d.fail(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	et := v.Type().Elem()
	for _, e := range d.entries(m, path) {
		child := keyPath(path, e.key)
		d.record(child, e.kn, e.value)
		elem := d.element(et, e.value, child)
		v.SetMapIndex(reflect.ValueOf(e.key).Convert(v.Type().Key()), elem)
	}
}

// element decodes one list item or map value; pointers to structs are
// always allocated so an empty item is reported by validation, not lost.
func (d *decoder) element(t reflect.Type, n ast.Node, path string) reflect.Value {
	if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct {
		elem := reflect.New(t.Elem())
		d.value(n, elem.Elem(), path)
		return elem
	}
	elem := reflect.New(t).Elem()
	d.value(n, elem, path)
	return elem
}

func (d *decoder) sliceValue(n ast.Node, v reflect.Value, path string) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		// A single scalar stands for a one-item list (`status: 200`).
		if isScalarKind(v.Type().Elem().Kind()) && isScalar(n) {
			elem := reflect.New(v.Type().Elem()).Elem()
			d.value(n, elem, path)
			v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), elem))
			return
		}
		d.fail(n, path, "expected a list, got %s", describe(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(seq.Values))
	for i, item := range seq.Values {
		child := indexPath(path, i)
		d.record(child, nil, item)
		out = reflect.Append(out, d.element(v.Type().Elem(), item, child))
	}
	v.Set(out)
}

// anyValue converts free-form YAML (a JSON body, an expected value) into
// maps, lists and scalars. Maps have string keys so they encode as JSON.
func (d *decoder) anyValue(n ast.Node, path string) (any, bool) {
	switch n := n.(type) {
	case *ast.NullNode:
		return nil, true
	case *ast.StringNode:
		return n.Value, true
	case *ast.LiteralNode:
		return literalText(n), true
	case *ast.IntegerNode:
		// The parser keeps non-negative integers as uint64; int64 is what
		// Go code comparing values expects whenever it fits.
		if u, ok := n.Value.(uint64); ok && u <= math.MaxInt64 {
			return int64(u), true
		}
		return n.Value, true
	case *ast.FloatNode:
		return n.Value, true
	case *ast.BoolNode:
		return n.Value, true
	case *ast.InfinityNode, *ast.NanNode:
		d.fail(n, path, "expected a finite number, got %s", describe(n))
		return nil, false
	case *ast.MappingNode, *ast.MappingValueNode:
		m, _ := asMapping(n)
		out := map[string]any{}
		for _, e := range d.entries(m, path) {
			var x any
			d.value(e.value, reflect.ValueOf(&x).Elem(), keyPath(path, e.key))
			out[e.key] = x
		}
		return out, true
	case *ast.SequenceNode:
		out := make([]any, 0, len(n.Values))
		for i, item := range n.Values {
			var x any
			d.value(item, reflect.ValueOf(&x).Elem(), indexPath(path, i))
			out = append(out, x)
		}
		return out, true
	}
	d.fail(n, path, "unsupported YAML value %s", describe(n))
	return nil, false
}

func (d *decoder) stringValue(n ast.Node, path string) (string, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.LiteralNode:
		return literalText(n), true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		// Keep what the author wrote: `version: 1.10` stays "1.10".
		return scalarText(n), true
	}
	d.fail(n, path, "expected a string, got %s", describe(n))
	return "", false
}

func (d *decoder) intValue(n ast.Node, v reflect.Value, path string) {
	var i int64
	switch x := n.(type) {
	case *ast.IntegerNode:
		switch y := x.Value.(type) {
		case int64:
			i = y
		case uint64:
			if y > math.MaxInt64 {
				d.fail(n, path, "%s is out of range", describe(n))
				return
			}
			i = int64(y)
		default:
			d.fail(n, path, "expected an integer, got %s", describe(n))
			return
		}
	case *ast.FloatNode, *ast.StringNode:
		f, ok := numberOf(n)
		switch {
		case !ok || f != math.Trunc(f):
			d.fail(n, path, "expected an integer, got %s", describe(n))
			return
		case math.Abs(f) >= math.MaxInt64:
			d.fail(n, path, "%s is out of range", describe(n))
			return
		}
		i = int64(f)
	default:
		d.fail(n, path, "expected an integer, got %s", describe(n))
		return
	}
	if v.OverflowInt(i) {
		d.fail(n, path, "%s is out of range", describe(n))
		return
	}
	v.SetInt(i)
}

func (d *decoder) floatValue(n ast.Node, path string) (float64, bool) {
	switch x := n.(type) {
	case *ast.IntegerNode:
		switch y := x.Value.(type) {
		case int64:
			return float64(y), true
		case uint64:
			return float64(y), true
		}
	case *ast.FloatNode:
		return x.Value, true
	case *ast.StringNode:
		if f, ok := numberOf(x); ok {
			return f, true
		}
	case *ast.InfinityNode, *ast.NanNode:
		d.fail(n, path, "expected a finite number, got %s", describe(n))
		return 0, false
	}
	d.fail(n, path, "expected a number, got %s", describe(n))
	return 0, false
}

// plainNumber is a number as YAML 1.2 writes it. The YAML library reads
// some forms (1e12, 1E6) as text; they are numbers all the same.
var plainNumber = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// numberOf returns the value of a float node, or of an unquoted string
// that is a number.
func numberOf(n ast.Node) (float64, bool) {
	switch x := n.(type) {
	case *ast.FloatNode:
		return x.Value, true
	case *ast.StringNode:
		if x.Token == nil || x.Token.Type != token.StringType || !plainNumber.MatchString(x.Value) {
			return 0, false
		}
		f, err := strconv.ParseFloat(x.Value, 64)
		return f, err == nil && !math.IsInf(f, 0)
	}
	return 0, false
}

// byteSize accepts a number of bytes or a size with a unit: 512KiB, 4MiB,
// 1GiB, 4MB.
func (d *decoder) byteSize(n ast.Node, path string) (ByteSize, bool) {
	const want = "a size like 4MiB, 512KiB or a number of bytes"
	switch x := n.(type) {
	case *ast.IntegerNode:
		var i int64
		d.intValue(n, reflect.ValueOf(&i).Elem(), path)
		return ByteSize(i), !d.bad[path]
	case *ast.StringNode:
		if b, ok := ParseByteSize(x.Value); ok {
			return b, true
		}
	}
	d.fail(n, path, "expected %s, got %s", want, describe(n))
	return 0, false
}

// duration accepts "500ms", "1h30m" or a number of seconds.
func (d *decoder) duration(n ast.Node, path string) (Duration, bool) {
	var (
		dur Duration
		err error
	)
	switch x := n.(type) {
	case *ast.StringNode:
		dur, err = ParseDuration(x.Value)
	case *ast.IntegerNode:
		switch y := x.Value.(type) {
		case int64:
			dur, err = secondsDuration(float64(y), x.Token.Value)
		case uint64:
			dur, err = secondsDuration(float64(y), x.Token.Value)
		}
	case *ast.FloatNode:
		dur, err = secondsDuration(x.Value, x.Token.Value)
	default:
		d.fail(n, path, "expected a duration like 500ms, 2m or 1h30m, got %s", describe(n))
		return 0, false
	}
	if err != nil {
		d.fail(n, path, "%v", err)
		return 0, false
	}
	return dur, true
}

// think accepts a fixed pause (`think: 1s`) or a range (`{min: 1s, max: 3s}`;
// a missing max means a fixed pause of min).
func (d *decoder) think(n ast.Node, t *Think, path string) {
	if isScalar(n) {
		if dur, ok := d.duration(n, path); ok {
			t.Min, t.Max = dur, dur
		}
		return
	}
	if _, ok := asMapping(n); !ok {
		d.fail(n, path, "expected a duration or {min, max}, got %s", describe(n))
		return
	}
	d.structValue(n, reflect.ValueOf(t).Elem(), path)
	if _, ok := d.pos[fieldPath(path, "max")]; !ok {
		t.Max = t.Min
	}
}

// asMapping returns n as a mapping; a lone key: value pair counts as a
// mapping of one.
func asMapping(n ast.Node) (*ast.MappingNode, bool) {
	switch x := n.(type) {
	case *ast.MappingNode:
		return x, true
	case *ast.MappingValueNode:
		return &ast.MappingNode{BaseNode: &ast.BaseNode{}, Start: x.Start, Values: []*ast.MappingValueNode{x}}, true
	}
	return nil, false
}

// mapKey returns the text of a mapping key.
func mapKey(k ast.Node) (string, bool) {
	for {
		switch x := k.(type) {
		case *ast.MappingKeyNode:
			k = x.Value
		case *ast.TagNode:
			k = x.Value
		case *ast.AnchorNode:
			k = x.Value
		case *ast.StringNode:
			return x.Value, true
		case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NullNode, *ast.InfinityNode, *ast.NanNode:
			return x.GetToken().Value, true
		default:
			return "", false
		}
	}
}

// scalarText returns the text of a scalar node, such as an anchor's name.
func scalarText(n ast.Node) string {
	if n == nil {
		return ""
	}
	if s, ok := n.(*ast.StringNode); ok {
		return s.Value
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

func literalText(n *ast.LiteralNode) string {
	if n.Value == nil {
		return ""
	}
	return n.Value.Value
}

func isNull(n ast.Node) bool {
	if n == nil {
		return true
	}
	_, ok := n.(*ast.NullNode)
	return ok
}

func isScalar(n ast.Node) bool {
	switch n.(type) {
	case *ast.StringNode, *ast.LiteralNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return true
	}
	return false
}

func isScalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// describe names a value in a type error: `"high"`, `1.5`, `a mapping`.
func describe(n ast.Node) string {
	switch x := n.(type) {
	case nil, *ast.NullNode:
		return "null"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode:
		return strconv.Quote(shorten(x.Value))
	case *ast.LiteralNode:
		return strconv.Quote(shorten(literalText(x)))
	case *ast.AliasNode:
		return "an alias"
	case *ast.AnchorNode, *ast.TagNode:
		return "a tagged value"
	}
	if tk := n.GetToken(); tk != nil {
		return shorten(tk.Value)
	}
	return n.Type().String()
}

// shorten cuts long text for messages.
func shorten(s string) string {
	const limit = 40
	if r := []rune(s); len(r) > limit {
		return string(r[:limit]) + "…"
	}
	return s
}

// nodePos returns where a node starts; mappings start at their first key.
func nodePos(n ast.Node) (line, col int) {
	var tk *token.Token
	switch x := n.(type) {
	case nil:
		return 0, 0
	case *ast.MappingNode:
		// A block mapping's Start is its first ':'; point at its first key.
		if !x.IsFlowStyle && len(x.Values) > 0 && x.Values[0] != nil && x.Values[0].Key != nil {
			return nodePos(x.Values[0].Key)
		}
		tk = x.Start
	case *ast.MappingValueNode:
		if x.Key != nil {
			return nodePos(x.Key)
		}
		tk = x.Start
	case *ast.DocumentNode:
		if x.Body == nil {
			return 0, 0
		}
		return nodePos(x.Body)
	default:
		tk = n.GetToken()
	}
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

// suggest returns the name closest to key, if it is close enough to be a
// likely typo.
func closestName(key string, names []string) (string, bool) {
	best, bestDist := "", math.MaxInt
	lk := strings.ToLower(key)
	for _, name := range names {
		if dist := suggest.Distance(lk, strings.ToLower(name)); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	limit := 1
	switch n := len([]rune(key)); {
	case n > 8:
		limit = 3
	case n > 3:
		limit = 2
	}
	return best, best != "" && bestDist <= limit
}
