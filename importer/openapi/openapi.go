// Package openapi turns an OpenAPI 3.x description into a plan: one
// scenario per tag, one step per operation.
//
// The description is parsed and its $refs resolved by
// github.com/getkin/kin-openapi; references to other files are followed
// only to local files beside the description (never over the network).
// Each operation becomes a step whose path parameters read columns of one
// data feeder, so that a load test does not ask for the same resource
// every time; the importer writes a stub of that data file with one row of
// example values for a person to fill. Required query and header
// parameters get their example values; optional ones are listed in a
// comment. A JSON request body is the description's example, or one
// generated from its schema (examples, defaults, enums and formats first,
// then the type). The check is the operation's first 2xx response.
// Security schemes become headers that read the credentials from the
// environment.
package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/stampede-perf/stampede/importer"
)

// Limits on what is read and generated.
const (
	MaxFile     = 16 << 20 // bytes of description read
	MaxSteps    = 1000     // operations imported (plan.MaxSteps)
	maxDepth    = 8        // nesting of a generated body
	maxBodySize = 64 << 10 // a generated body
	feederName  = "params"
)

// Result is an imported plan and the stub of its data file.
type Result struct {
	Plan *importer.Plan
	// Data is the data file's content (a CSV header and one row of
	// example values), or nil when no operation has path parameters.
	Data []byte
}

// Import reads the description in file (its $refs to other files are
// resolved beside it). dataFile is the name the plan gives the data file,
// relative to the plan.
func Import(file, dataFile string) (*Result, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ImportData(data, file, dataFile)
}

// ImportData is Import for a description already read; file names it in
// errors and locates its relative $refs.
func ImportData(data []byte, file, dataFile string) (*Result, error) {
	if len(data) > MaxFile {
		return nil, fmt.Errorf("%s: larger than %d MiB, the most an OpenAPI import reads", file, MaxFile>>20)
	}
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return nil, err
	}
	l := openapi3.NewLoader()
	l.IsExternalRefsAllowed = true
	l.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		// Only files beside the description: no network, no other directory.
		if u.Scheme != "" && u.Scheme != "file" || u.Host != "" {
			return nil, fmt.Errorf("reference %q leaves the local files (only files beside the description are read)", u.String())
		}
		p, err := filepath.Abs(u.Path)
		if err != nil || !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			return nil, fmt.Errorf("reference %q is outside %s", u.Path, dir)
		}
		return os.ReadFile(p)
	}
	loc := &url.URL{Path: filepath.Join(dir, filepath.Base(file))}
	doc, err := loadSafely(l, data, loc)
	if err != nil {
		return nil, locate(file, data, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		v := doc.OpenAPI
		if v == "" {
			v = "none"
		}
		return nil, fmt.Errorf("%s: not an OpenAPI 3.x description (openapi: %s; convert a Swagger 2.0 file to 3.x first)", file, v)
	}
	im := &importing{doc: doc, file: file, dataFile: dataFile, columns: map[string]*column{}}
	return im.run()
}

// loadSafely turns a panic of the parser on hostile input into an error.
func loadSafely(l *openapi3.Loader, data []byte, loc *url.URL) (doc *openapi3.T, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("the description cannot be read: %v", r)
		}
	}()
	return l.LoadFromDataWithPath(data, loc)
}

var (
	quotedRef = regexp.MustCompile(`"([^"]*#[^"]*|[^"]+\.(?:ya?ml|json)[^"]*)"`)
	yamlLine  = regexp.MustCompile(`line (\d+)`)
)

// locate gives a loading error the position it is about: the line of a
// broken $ref (found in the text), or the line the YAML decoder named.
func locate(file string, data []byte, err error) error {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if m := quotedRef.FindStringSubmatch(msg); m != nil {
		for _, q := range []string{`"` + m[1] + `"`, `'` + m[1] + `'`, m[1]} {
			if k := bytes.Index(data, []byte(q)); k >= 0 {
				before := data[:k]
				line := bytes.Count(before, []byte("\n")) + 1
				col := len(before) - bytes.LastIndexByte(before, '\n')
				return fmt.Errorf("%s:%d:%d: broken $ref %s: %s", file, line, col, m[1], msg)
			}
		}
	}
	if strings.Contains(msg, "unmarshal") {
		msg = "not an OpenAPI description: " + msg
	}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", file, m[1], msg)
	}
	return fmt.Errorf("%s: %s", file, msg)
}

// column is one path parameter of the data file.
type column struct {
	name    string // the column (a template-safe form of the parameter name)
	example string
	usedBy  []string
}

type importing struct {
	doc      *openapi3.T
	file     string
	dataFile string
	columns  map[string]*column
	order    []string                 // column names in first-use order
	schemes  map[string][]importer.KV // security scheme → the headers it sends
	authNote []string
}

type op struct {
	path, method string
	item         *openapi3.PathItem
	op           *openapi3.Operation
}

var methodOrder = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

func (im *importing) run() (*Result, error) {
	var ops []op
	skipped := 0
	if im.doc.Paths != nil {
		for _, p := range im.doc.Paths.InMatchingOrder() {
			item := im.doc.Paths.Value(p)
			if item == nil {
				continue
			}
			m := item.Operations()
			for name := range m {
				if !slices.Contains(methodOrder, strings.ToUpper(name)) {
					skipped++
				}
			}
			for _, method := range methodOrder {
				if o := m[method]; o != nil {
					ops = append(ops, op{p, method, item, o})
				}
			}
		}
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("%s: the description has no operations to import", im.file)
	}
	if len(ops) > MaxSteps {
		return nil, fmt.Errorf("%s: %d operations, more than the %d steps a plan holds (split the description by tag)", im.file, len(ops), MaxSteps)
	}
	// Stable order: by path as written, then method.
	sort.SliceStable(ops, func(a, b int) bool { return ops[a].path < ops[b].path })

	base, prefix, baseNote := im.server()
	im.security()

	scenarios := map[string]*importer.Scenario{}
	var order []string
	for _, t := range im.doc.Tags {
		if t != nil && t.Name != "" && !slices.Contains(order, t.Name) {
			order = append(order, t.Name)
		}
	}
	used := map[string]map[string]bool{}
	var stepsByOp []*importer.Step // in the order of ops
	for _, o := range ops {
		tag := "untagged"
		if len(o.op.Tags) > 0 && strings.TrimSpace(o.op.Tags[0]) != "" {
			tag = o.op.Tags[0]
		}
		if !slices.Contains(order, tag) {
			order = append(order, tag)
		}
		sc := scenarios[tag]
		if sc == nil {
			sc = &importer.Scenario{Name: tag, Weight: 1}
			scenarios[tag] = sc
			used[tag] = map[string]bool{}
		}
		st, err := im.step(o, prefix)
		if err != nil {
			return nil, err
		}
		st.Name = importer.UniqueName(used[tag], st.Name)
		sc.Steps = append(sc.Steps, st)
		stepsByOp = append(stepsByOp, st)
	}
	title := "API"
	if im.doc.Info != nil && strings.TrimSpace(im.doc.Info.Title) != "" {
		title = strings.TrimSpace(im.doc.Info.Title)
	}
	p := &importer.Plan{
		Header: []string{
			fmt.Sprintf("Imported from the OpenAPI description %s by `stampede import openapi`.", filepath.Base(im.file)),
			"One scenario per tag, one step per operation. Decide: which operations belong",
			"in the load and how often (weights), and which responses each must give.",
		},
		Name:    title,
		BaseURL: base,
	}
	if skipped > 0 {
		p.Header = append(p.Header, fmt.Sprintf("%d operations with methods a plan cannot send (TRACE, CONNECT) were left out.", skipped))
	}
	p.Header = append(p.Header, baseNote...)
	// Credentials every operation sends alike go to the target; when some
	// operations send none (a login) or others, each step sends its own.
	same := true
	var first []importer.KV
	for i, o := range ops {
		a := im.auth(o.op)
		if i == 0 {
			first = a
		} else if !slices.Equal(a, first) {
			same = false
		}
	}
	switch {
	case same && len(first) > 0:
		p.HeadersComment = im.authNote
		p.Headers = first
	case !same:
		p.Header = append(p.Header, im.authNote...)
		for i, o := range ops {
			stepsByOp[i].Headers = append(im.auth(o.op), stepsByOp[i].Headers...)
		}
	default:
		p.Header = append(p.Header, im.authNote...)
	}
	names := map[string]bool{}
	for _, tag := range order {
		sc := scenarios[tag]
		if sc == nil {
			continue
		}
		sc.Name = importer.UniqueName(names, importer.ScenarioName(tag))
		for _, t := range im.doc.Tags {
			if t != nil && t.Name == tag && t.Description != "" {
				sc.Comment = append(sc.Comment, oneLine(t.Description))
			}
		}
		p.Scenarios = append(p.Scenarios, sc)
	}
	res := &Result{Plan: p}
	if len(im.order) > 0 {
		var b bytes.Buffer
		var header, row []string
		f := importer.Feeder{Name: feederName, File: im.dataFile, Mode: "random",
			Comment: []string{"Decide: the path parameters' values. " + im.dataFile + " was written with one row of",
				"examples; put in real ids of the system under test, one row per set."}}
		for _, name := range im.order {
			c := im.columns[name]
			header = append(header, csvField(c.name))
			row = append(row, csvField(c.example))
			f.Comment = append(f.Comment, fmt.Sprintf("  %s: %s", c.name, strings.Join(clipList(c.usedBy, 4), ", ")))
		}
		b.WriteString(strings.Join(header, ",") + "\n" + strings.Join(row, ",") + "\n")
		res.Data = b.Bytes()
		p.Data = []importer.Feeder{f}
	}
	return res, nil
}

func clipList(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), fmt.Sprintf("and %d more", len(s)-n))
}

// csvField quotes s when CSV needs it. An empty value is quoted too: a row
// of one empty field would otherwise be a blank line, which readers skip.
func csvField(s string) string {
	if s == "" || strings.ContainsAny(s, "\",\n\r") || strings.TrimSpace(s) != s {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// server picks the base URL from the first server, with its variables at
// their defaults; a relative server URL becomes a path prefix.
func (im *importing) server() (base, prefix string, notes []string) {
	const local = "http://127.0.0.1:8080"
	if len(im.doc.Servers) == 0 || im.doc.Servers[0] == nil {
		return local, "", []string{"Decide: the description names no server; base_url is a placeholder."}
	}
	s := im.doc.Servers[0]
	raw := s.URL
	for name, v := range s.Variables {
		if v != nil {
			raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
		}
	}
	if len(im.doc.Servers) > 1 {
		notes = append(notes, fmt.Sprintf("The description lists %d servers; the plan uses the first.", len(im.doc.Servers)))
	}
	u, err := url.Parse(raw)
	if err != nil || strings.ContainsAny(raw, "{}") {
		return local, "", append(notes, fmt.Sprintf("Decide: the server %q is not a URL the plan can use; base_url is a placeholder.", s.URL))
	}
	prefix = strings.TrimRight(u.EscapedPath(), "/")
	if u.Scheme == "" && u.Host == "" {
		return local, prefix, append(notes, fmt.Sprintf("Decide: the server %q is relative; base_url is a placeholder.", s.URL))
	}
	origin, err := importer.Origin(u)
	if err != nil {
		return local, "", append(notes, fmt.Sprintf("Decide: the server %q: %v; base_url is a placeholder.", s.URL, err))
	}
	return origin, prefix, notes
}

// security turns the description's security schemes into headers that
// read their credentials from the environment.
func (im *importing) security() {
	im.schemes = map[string][]importer.KV{}
	if im.doc.Components == nil {
		return
	}
	inUse := map[string]bool{}
	for _, req := range im.doc.Security {
		for name := range req {
			inUse[name] = true
		}
	}
	if im.doc.Paths != nil {
		for _, item := range im.doc.Paths.Map() {
			for _, o := range item.Operations() {
				if o.Security != nil {
					for _, req := range *o.Security {
						for name := range req {
							inUse[name] = true
						}
					}
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(inUse)) {
		ref := im.doc.Components.SecuritySchemes[name]
		if ref == nil || ref.Value == nil {
			continue
		}
		s := ref.Value
		env := "API_" + strings.ToUpper(importer.VarName(name))
		var kv importer.KV
		switch {
		case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
			kv = importer.KV{Key: "Authorization", Value: "Bearer {{ env." + env + " }}"}
		case s.Type == "http" && strings.EqualFold(s.Scheme, "basic"):
			kv = importer.KV{Key: "Authorization", Value: "Basic {{ env." + env + " }}"}
			env += " (base64 of user:password)"
		case s.Type == "apiKey" && s.In == "header" && validHeader(s.Name):
			kv = importer.KV{Key: s.Name, Value: "{{ env." + env + " }}"}
		default:
			im.authNote = append(im.authNote, fmt.Sprintf("Decide: security scheme %q (%s) is not set up; add its credentials.", name, s.Type))
			continue
		}
		im.schemes[name] = []importer.KV{kv}
		im.authNote = append(im.authNote, fmt.Sprintf("Security scheme %q: set %s when you run the plan.", name, env))
	}
}

// auth is the headers operation o sends for its security requirement
// (the first alternative, when it lists several).
func (im *importing) auth(o *openapi3.Operation) []importer.KV {
	reqs := im.doc.Security
	if o.Security != nil {
		reqs = *o.Security
	}
	if len(reqs) == 0 {
		return nil
	}
	var out []importer.KV
	for _, name := range slices.Sorted(maps.Keys(reqs[0])) {
		for _, kv := range im.schemes[name] {
			out = importer.SetHeader(out, kv.Key, kv.Value)
		}
	}
	return out
}

func validHeader(name string) bool {
	if name == "" || len(name) > 256 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

var pathParam = regexp.MustCompile(`\{([^{}/]+)\}`)

func (im *importing) step(o op, prefix string) (*importer.Step, error) {
	st := &importer.Step{Method: o.method, Name: o.method + " " + o.path}
	if id := strings.TrimSpace(o.op.OperationID); id != "" {
		st.Name = id
	}
	if s := oneLine(o.op.Summary); s != "" {
		st.Comment = append(st.Comment, s)
	}
	if o.op.Deprecated {
		st.Comment = append(st.Comment, "Deprecated by the description.")
	}
	params := map[string]*openapi3.Parameter{}
	var paramOrder []string
	for _, list := range []openapi3.Parameters{o.item.Parameters, o.op.Parameters} {
		for _, ref := range list {
			if ref == nil || ref.Value == nil {
				continue
			}
			key := ref.Value.In + ":" + ref.Value.Name
			if _, ok := params[key]; !ok {
				paramOrder = append(paramOrder, key)
			}
			params[key] = ref.Value // the operation's own wins
		}
	}
	// The path: literal text, parameters read from the data file.
	var b strings.Builder
	rest := prefix + o.path
	for {
		loc := pathParam.FindStringSubmatchIndex(rest)
		if loc == nil {
			b.WriteString(importer.Literal(rest))
			break
		}
		b.WriteString(importer.Literal(rest[:loc[0]]))
		name := rest[loc[2]:loc[3]]
		col := im.column(name, params["path:"+name], st.Name)
		fmt.Fprintf(&b, "{{ %s.%s }}", feederName, col)
		rest = rest[loc[1]:]
	}
	st.Path = b.String()
	if !strings.HasPrefix(st.Path, "/") {
		st.Path = "/" + st.Path
	}
	var optional []string
	for _, key := range paramOrder {
		p := params[key]
		switch p.In {
		case "query", "header":
			if !p.Required {
				optional = append(optional, p.Name)
				continue
			}
			v := importer.Literal(exampleString(p))
			if p.In == "query" {
				st.Query = append(st.Query, importer.KV{Key: p.Name, Value: v})
			} else if validHeader(p.Name) {
				st.Headers = importer.SetHeader(st.Headers, p.Name, v)
			}
		case "cookie":
			st.Comment = append(st.Comment, fmt.Sprintf("Decide: cookie parameter %q is not sent.", p.Name))
		}
	}
	if len(optional) > 0 {
		st.Comment = append(st.Comment, "Optional parameters not sent: "+strings.Join(clipList(optional, 8), ", ")+".")
	}
	if err := im.body(o, st); err != nil {
		return nil, err
	}
	st.Status = successStatus(o.op)
	if len(st.Status) == 0 {
		st.Comment = append(st.Comment, "Decide: the description gives no 2xx status; any 2xx or 3xx passes.")
	}
	return st, nil
}

// column names the data file's column for path parameter name, recording
// an example value the first time.
func (im *importing) column(name string, p *openapi3.Parameter, usedBy string) string {
	col := strings.Trim(sanitizeColumn(name), "-.")
	if col == "" || !(col[0] == '_' || col[0] >= 'a' && col[0] <= 'z' || col[0] >= 'A' && col[0] <= 'Z') {
		col = "p_" + col
	}
	c := im.columns[col]
	if c == nil {
		ex := "1"
		if p != nil {
			ex = exampleString(p)
		}
		c = &column{name: col, example: ex}
		im.columns[col] = c
		im.order = append(im.order, col)
	}
	if !slices.Contains(c.usedBy, usedBy) {
		c.usedBy = append(c.usedBy, usedBy)
	}
	return col
}

func sanitizeColumn(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 && (r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() > 64 {
		return b.String()[:64]
	}
	return b.String()
}

func successStatus(o *openapi3.Operation) []int {
	if o.Responses == nil {
		return nil
	}
	best := 0
	for _, k := range o.Responses.Keys() {
		if n, err := strconv.Atoi(k); err == nil && n >= 200 && n < 300 && (best == 0 || n < best) {
			best = n
		}
	}
	if best == 0 {
		return nil
	}
	return []int{best}
}

// exampleString is a parameter's example value as text.
func exampleString(p *openapi3.Parameter) string {
	v, ok := p.Example, p.Example != nil
	if !ok {
		for _, k := range slices.Sorted(maps.Keys(p.Examples)) {
			if e := p.Examples[k]; e != nil && e.Value != nil && e.Value.Value != nil {
				v, ok = e.Value.Value, true
				break
			}
		}
	}
	if !ok && p.Schema != nil {
		v = generate(p.Schema, 0, map[*openapi3.Schema]bool{})
	}
	return scalarText(v)
}

func scalarText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool, int, int64:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// body sets a step's request body from the operation's JSON (or form)
// content.
func (im *importing) body(o op, st *importer.Step) error {
	if o.op.RequestBody == nil || o.op.RequestBody.Value == nil || len(o.op.RequestBody.Value.Content) == 0 {
		return nil
	}
	content := o.op.RequestBody.Value.Content
	var mt string
	for _, k := range slices.Sorted(maps.Keys(content)) {
		base := strings.ToLower(strings.TrimSpace(strings.Split(k, ";")[0]))
		if base == "application/json" || strings.HasSuffix(base, "+json") {
			mt = k
			break
		}
		if base == "application/x-www-form-urlencoded" && mt == "" {
			mt = k
		}
	}
	if mt == "" {
		st.Comment = append(st.Comment, fmt.Sprintf("Decide: the request body (%s) was not generated.", strings.Join(slices.Sorted(maps.Keys(content)), ", ")))
		return nil
	}
	media := content[mt]
	var v any
	ok := false
	if media != nil {
		if media.Example != nil {
			v, ok = media.Example, true
		} else {
			for _, k := range slices.Sorted(maps.Keys(media.Examples)) {
				if e := media.Examples[k]; e != nil && e.Value != nil && e.Value.Value != nil {
					v, ok = e.Value.Value, true
					break
				}
			}
		}
		if !ok && media.Schema != nil {
			v, ok = generate(media.Schema, 0, map[*openapi3.Schema]bool{}), true
			st.Comment = append(st.Comment, "Decide: the body was generated from the schema; put in values the system accepts.")
		}
	}
	if !ok {
		st.Comment = append(st.Comment, "Decide: the request body has no example or schema; none is sent.")
		return nil
	}
	var text string
	if strings.Contains(mt, "x-www-form-urlencoded") {
		obj, _ := v.(map[string]any)
		form := url.Values{}
		for k, val := range obj {
			form.Set(k, scalarText(val))
		}
		text = form.Encode()
	} else {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("%s: %s %s: the body example cannot be written as JSON: %v", im.file, o.method, o.path, err)
		}
		text = string(b)
	}
	if len(text) > maxBodySize {
		st.Comment = append(st.Comment, "Decide: the body example is larger than 64 KiB; none is sent.")
		return nil
	}
	st.Headers = importer.SetHeader(st.Headers, "Content-Type", mt)
	st.Body = importer.Literal(text)
	return nil
}

// generate makes a value that fits schema s: its example, default, const
// or first enum value when it has one, else one built from its type.
func generate(ref *openapi3.SchemaRef, depth int, active map[*openapi3.Schema]bool) any {
	if ref == nil || ref.Value == nil || depth > maxDepth {
		return nil
	}
	s := ref.Value
	if active[s] {
		return nil // a recursive schema: stop here
	}
	active[s] = true
	defer delete(active, s)
	switch {
	case s.Example != nil:
		return s.Example
	case len(s.Examples) > 0:
		return s.Examples[0]
	case s.Default != nil:
		return s.Default
	case s.Const != nil:
		return s.Const
	case len(s.Enum) > 0:
		return s.Enum[0]
	case len(s.AllOf) > 0:
		merged := map[string]any{}
		var last any
		for _, part := range s.AllOf {
			last = generate(part, depth+1, active)
			if m, ok := last.(map[string]any); ok {
				for k, v := range m {
					merged[k] = v
				}
			}
		}
		if len(merged) > 0 {
			return merged
		}
		return last
	case len(s.OneOf) > 0:
		return generate(s.OneOf[0], depth+1, active)
	case len(s.AnyOf) > 0:
		return generate(s.AnyOf[0], depth+1, active)
	}
	typ := ""
	if s.Type != nil {
		for _, t := range s.Type.Slice() {
			if t != "null" {
				typ = t
				break
			}
		}
	}
	if typ == "" {
		switch {
		case len(s.Properties) > 0:
			typ = "object"
		case s.Items != nil:
			typ = "array"
		}
	}
	switch typ {
	case "object":
		obj := map[string]any{}
		for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
			p := s.Properties[k]
			if p != nil && p.Value != nil && p.Value.ReadOnly {
				continue
			}
			if v := generate(p, depth+1, active); v != nil {
				obj[k] = v
			}
		}
		return obj
	case "array":
		item := generate(s.Items, depth+1, active)
		if item == nil {
			return []any{}
		}
		return []any{item}
	case "integer":
		if s.Min != nil && *s.Min > 1 && *s.Min < 1e15 {
			return int64(*s.Min)
		}
		return 1
	case "number":
		if s.Min != nil && *s.Min > 1 && *s.Min < 1e15 {
			return *s.Min
		}
		return 1.5
	case "boolean":
		return true
	case "string":
		switch s.Format {
		case "date-time":
			return "2026-01-01T00:00:00Z"
		case "date":
			return "2026-01-01"
		case "email":
			return "user@example.com"
		case "uuid":
			return "00000000-0000-4000-8000-000000000001"
		case "uri", "url":
			return "https://example.com/"
		case "ipv4":
			return "192.0.2.1"
		}
		n := max(int(s.MinLength), 7)
		if n > 64 {
			n = 64
		}
		return strings.Repeat("x", n-7) + "example"
	}
	return nil
}
