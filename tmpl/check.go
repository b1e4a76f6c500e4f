package tmpl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/stampede-perf/stampede/plan"
)

// Check is what a response must satisfy. It is immutable and safe for
// concurrent use. A nil *Check is the default check: status 200–399.
type Check struct {
	status     []int // empty: 200–399
	wantStatus string
	contains   []byte
	json       []jsonCheck
	rows       *int
	minRows    *int
}

type jsonOp uint8

const (
	jsonExists jsonOp = iota
	jsonAbsent
	jsonEquals
)

type jsonCheck struct {
	path string
	op   jsonOp
	// equals: the expected value, by type
	typ     gjson.Type // String, Number or True (for either boolean)
	str     string
	num     float64
	intText string // canonical decimal of an integral expected number, compared exactly
	b       bool
	want    string // the expected value as JSON, for reasons
}

// CompileCheck prepares c. A nil c is the default check. Status codes must
// be 100–599; a JSON check's equals must be a string, number or boolean
// (YAML cannot tell `equals: null` from no equals, so null cannot be
// checked; use exists).
func CompileCheck(c *plan.Check) (*Check, error) {
	k := &Check{}
	if c == nil {
		k.wantStatus = "200-399"
		return k, nil
	}
	for _, s := range c.Status {
		if s < 100 || s > 599 {
			return nil, fmt.Errorf("check status %d is not an HTTP status (use 100–599)", s)
		}
	}
	k.status = append([]int(nil), c.Status...)
	k.wantStatus = statusList(k.status)
	if c.BodyContains != "" {
		k.contains = []byte(c.BodyContains)
	}
	for i, jc := range c.JSON {
		if jc == nil || jc.Path == "" {
			return nil, fmt.Errorf("check json[%d] has no path (set path to a gjson path such as order.id)", i)
		}
		j := jsonCheck{path: jc.Path, op: jsonExists}
		switch {
		case jc.Equals != nil:
			if jc.Exists != nil && !*jc.Exists {
				return nil, fmt.Errorf("check json %q sets equals and exists: false (keep one)", jc.Path)
			}
			if err := j.expect(jc.Equals); err != nil {
				return nil, fmt.Errorf("check json %q: %w", jc.Path, err)
			}
			j.op = jsonEquals
		case jc.Exists != nil && !*jc.Exists:
			j.op = jsonAbsent
		}
		k.json = append(k.json, j)
	}
	for _, r := range []struct {
		name string
		v    *int
	}{{"rows", c.Rows}, {"min_rows", c.MinRows}} {
		if r.v != nil && *r.v < 0 {
			return nil, fmt.Errorf("check %s is %d (use 0 or more)", r.name, *r.v)
		}
	}
	if c.Rows != nil {
		k.rows = new(*c.Rows)
	}
	if c.MinRows != nil {
		k.minRows = new(*c.MinRows)
	}
	return k, nil
}

func statusList(codes []int) string {
	switch len(codes) {
	case 0:
		return "200-399"
	case 1:
		return strconv.Itoa(codes[0])
	}
	var b strings.Builder
	for i, c := range codes {
		switch {
		case i == len(codes)-1:
			b.WriteString(" or ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(c))
	}
	return b.String()
}

// expect sets the expected value from a decoded YAML or JSON value.
func (j *jsonCheck) expect(v any) error {
	switch v := v.(type) {
	case string:
		j.typ, j.str, j.want = gjson.String, v, strconv.Quote(v)
		return nil
	case bool:
		j.typ, j.b, j.want = gjson.True, v, strconv.FormatBool(v)
		return nil
	case int:
		return j.expectInt(int64(v))
	case int8:
		return j.expectInt(int64(v))
	case int16:
		return j.expectInt(int64(v))
	case int32:
		return j.expectInt(int64(v))
	case int64:
		return j.expectInt(v)
	case uint:
		return j.expectUint(uint64(v))
	case uint8:
		return j.expectUint(uint64(v))
	case uint16:
		return j.expectUint(uint64(v))
	case uint32:
		return j.expectUint(uint64(v))
	case uint64:
		return j.expectUint(v)
	case float32:
		return j.expectFloat(float64(v))
	case float64:
		return j.expectFloat(v)
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return j.expectInt(i)
		}
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return j.expectUint(u)
		}
		f, err := v.Float64()
		if err != nil {
			return fmt.Errorf("equals %q is not a number", string(v))
		}
		return j.expectFloat(f)
	}
	return fmt.Errorf("equals must be a string, number or boolean, got %T (check nested values with their own paths)", v)
}

func (j *jsonCheck) expectInt(i int64) error {
	j.typ, j.num, j.intText = gjson.Number, float64(i), strconv.FormatInt(i, 10)
	j.want = j.intText
	return nil
}

func (j *jsonCheck) expectUint(u uint64) error {
	j.typ, j.num, j.intText = gjson.Number, float64(u), strconv.FormatUint(u, 10)
	j.want = j.intText
	return nil
}

func (j *jsonCheck) expectFloat(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("equals %v is not a JSON number", f)
	}
	j.typ, j.num, j.want = gjson.Number, f, strconv.FormatFloat(f, 'g', -1, 64)
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		j.intText = strconv.FormatInt(int64(f), 10)
	}
	return nil
}

// equal compares a found value to the expected one: numbers numerically
// (two integer literals exactly, so large ids do not collide as floats),
// strings as strings, booleans as booleans. Types never convert: "5" is
// not 5.
func (j *jsonCheck) equal(r gjson.Result) bool {
	switch j.typ {
	case gjson.String:
		return r.Type == gjson.String && r.Str == j.str
	case gjson.True:
		return (r.Type == gjson.True || r.Type == gjson.False) && (r.Type == gjson.True) == j.b
	case gjson.Number:
		if r.Type != gjson.Number {
			return false
		}
		if j.intText != "" && isIntLiteral(r.Raw) {
			return r.Raw == j.intText || r.Raw == "-0" && j.intText == "0"
		}
		return r.Num == j.num
	}
	return false
}

func isIntLiteral(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NeedsBody reports whether Check reads the body, so that a runner can
// discard bodies nobody reads.
func (c *Check) NeedsBody() bool {
	return c != nil && (len(c.contains) > 0 || len(c.json) > 0)
}

// Check reports whether a response with this status and body passes, and
// if not, a short reason such as `status 500, want 200`. The body is only
// read during the call. A passing check does not allocate.
func (c *Check) Check(status int, body []byte) (ok bool, reason string) {
	if c == nil || len(c.status) == 0 {
		if status < 200 || status > 399 {
			return false, fmt.Sprintf("status %d, want 200-399", status)
		}
	} else if !slices.Contains(c.status, status) {
		return false, fmt.Sprintf("status %d, want %s", status, c.wantStatus)
	}
	if c == nil {
		return true, ""
	}
	if len(c.contains) > 0 && !bytes.Contains(body, c.contains) {
		return false, fmt.Sprintf("body does not contain %s", quoteShort(string(c.contains)))
	}
	if len(c.json) == 0 {
		return true, ""
	}
	js := bytesView(body)
	for i := range c.json {
		j := &c.json[i]
		r := gjson.Get(js, j.path)
		switch {
		case j.op == jsonAbsent:
			if r.Exists() {
				return false, fmt.Sprintf("json path %q = %s, want absent", j.path, shortJSON(r))
			}
		case !r.Exists():
			if !gjson.Valid(js) {
				return false, fmt.Sprintf("json path %q missing: body is not JSON", j.path)
			}
			return false, fmt.Sprintf("json path %q missing", j.path)
		case j.op == jsonEquals && !j.equal(r):
			return false, fmt.Sprintf("json path %q = %s, want %s", j.path, shortJSON(r), j.want)
		}
	}
	return true, ""
}

// CheckRows reports whether an SQL result of n rows passes rows and
// min_rows, and if not, a reason such as `rows 0, want at least 1`.
func (c *Check) CheckRows(n int) (ok bool, reason string) {
	if c == nil {
		return true, ""
	}
	if c.rows != nil && n != *c.rows {
		return false, fmt.Sprintf("rows %d, want %d", n, *c.rows)
	}
	if c.minRows != nil && n < *c.minRows {
		return false, fmt.Sprintf("rows %d, want at least %d", n, *c.minRows)
	}
	return true, ""
}

// reasonMax bounds the part of a value quoted in a reason: reasons are
// grouped and counted, not read like logs.
const reasonMax = 64

func quoteShort(s string) string {
	if t := truncate(s); len(t) < len(s) {
		return strconv.Quote(t) + "…"
	}
	return strconv.Quote(s)
}

// truncate cuts s to at most reasonMax bytes on a character boundary.
func truncate(s string) string {
	if len(s) <= reasonMax {
		return s
	}
	i := reasonMax
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

func shortJSON(r gjson.Result) string {
	s := r.Raw
	if s == "" {
		s = r.String()
	}
	if t := truncate(s); len(t) < len(s) {
		return t + "…"
	}
	return s
}
