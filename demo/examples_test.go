package demo

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/tidwall/gjson"

	"github.com/stampede-perf/stampede/plan"
)

var update = flag.Bool("update", false, "rewrite ../examples/users.csv from UsersCSV")

const (
	examplesDir  = "../examples"
	exampleUsers = 1000
)

func TestUsersCSVUpToDate(t *testing.T) {
	path := filepath.Join(examplesDir, "users.csv")
	want := UsersCSV(exampleUsers)
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with go test ./demo -run UsersCSV -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not UsersCSV(%d); regenerate it with go test ./demo -run UsersCSV -update", path, exampleUsers)
	}
}

func TestUsersCSVLogsIn(t *testing.T) {
	_, c := newTestShop(t, Options{Users: 30})
	rows, err := csv.NewReader(bytes.NewReader(UsersCSV(30))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 31 || strings.Join(rows[0], ",") != "email,password" {
		t.Fatalf("UsersCSV(30): %d rows, header %v; want 31 rows under email,password", len(rows), rows[0])
	}
	for i, row := range rows[1:] {
		var out struct {
			UserID int `json:"user_id"`
		}
		c.expect(http.StatusOK, "POST", "/api/auth/login", "", map[string]string{"email": row[0], "password": row[1]}).decode(t, &out)
		if out.UserID != i+1 {
			t.Errorf("row %d logs in as user %d", i+1, out.UserID)
		}
	}
}

// loadExamplePlan reads examples/shop.yaml as a generic document.
func loadExamplePlan(t *testing.T) map[string]any {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(examplesDir, "shop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatalf("shop.yaml: %v", err)
	}
	return doc
}

// TestExamplePlanShape checks every key of shop.yaml against the yaml tags
// of the plan types, and the scenario mix the demo relies on.
func TestExamplePlanShape(t *testing.T) {
	doc := loadExamplePlan(t)
	var problems []string
	checkShape("", doc, reflect.TypeFor[plan.Plan](), &problems)
	for _, p := range problems {
		t.Error(p)
	}

	want := map[string]int{"User Login": 20, "Browse Products": 40, "Add to Cart": 30, "Checkout": 10}
	got := map[string]int{}
	for _, s := range doc["scenarios"].([]any) {
		m := s.(map[string]any)
		got[m["name"].(string)] = toInt(m["weight"])
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("scenario weights %v, want %v", got, want)
	}
	feeder := doc["data"].(map[string]any)["users"].(map[string]any)
	if _, err := os.Stat(filepath.Join(examplesDir, feeder["file"].(string))); err != nil {
		t.Errorf("users feeder: %v", err)
	}
}

// checkShape walks a decoded YAML value alongside the Go type it is meant
// for. Types with their own UnmarshalYAML accept any shape; the documented
// shorthands (a duration for think, a string for a threshold, one code for
// status) are accepted where the plan types do not (yet) decode them.
func checkShape(path string, v any, t reflect.Type, problems *[]string) {
	bad := func(format string, args ...any) {
		*problems = append(*problems, "shop.yaml "+cmpOrString(path, "(root)")+": "+fmt.Sprintf(format, args...))
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if _, ok := reflect.PointerTo(t).MethodByName("UnmarshalYAML"); ok {
		return
	}
	switch t {
	case reflect.TypeFor[plan.Duration]():
		if s, ok := v.(string); !ok {
			bad("want a duration string, got %T", v)
		} else if _, err := time.ParseDuration(s); err != nil {
			bad("%v", err)
		}
		return
	case reflect.TypeFor[plan.Think]():
		if _, ok := v.(string); ok {
			checkShape(path, v, reflect.TypeFor[plan.Duration](), problems)
			return
		}
	case reflect.TypeFor[plan.Threshold](), reflect.TypeFor[plan.PrometheusSpec]():
		if _, ok := v.(string); ok {
			return
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			bad("want a mapping, got %T", v)
			return
		}
		fields := map[string]reflect.StructField{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				fields[name] = f
			}
		}
		for k, sub := range m {
			f, ok := fields[k]
			if !ok {
				bad("unknown key %q", k)
				continue
			}
			checkShape(strings.TrimPrefix(path+"."+k, "."), sub, f.Type, problems)
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			if t.Elem().Kind() == reflect.Int { // status: 200
				checkShape(path, v, t.Elem(), problems)
				return
			}
			bad("want a list, got %T", v)
			return
		}
		for i, sub := range list {
			checkShape(fmt.Sprintf("%s[%d]", path, i), sub, t.Elem(), problems)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			bad("want a mapping, got %T", v)
			return
		}
		for k, sub := range m {
			checkShape(path+"."+k, sub, t.Elem(), problems)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			bad("want a string, got %T (quote it)", v)
		}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Float64:
		switch v.(type) {
		case int, int64, uint64, float64:
		default:
			bad("want a number, got %T", v)
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			bad("want true or false, got %T", v)
		}
	case reflect.Interface:
	default:
		bad("no check for %v", t)
	}
}

func cmpOrString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func toInt(v any) int {
	switch n := v.(type) {
	case uint64:
		return int(n)
	case int64:
		return int(n)
	case int:
		return n
	case float64:
		return int(n)
	}
	return -1
}

// TestExamplePlanAgainstShop runs every journey of shop.yaml a few times
// against a real shop, with a deliberately small interpreter of the plan's
// templates, extractors and checks: the example must work on the shop it
// was written for.
func TestExamplePlanAgainstShop(t *testing.T) {
	doc := loadExamplePlan(t)
	rows, err := csv.NewReader(bytes.NewReader(UsersCSV(5))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	_, c := newTestShop(t, Options{Users: 5})
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range doc["scenarios"].([]any) {
		sc := s.(map[string]any)
		t.Run(sc["name"].(string), func(t *testing.T) {
			for vu := 1; vu <= 3; vu++ {
				x := &interp{t: t, rng: rng, expr: regexp.MustCompile(`\{\{\s*(.*?)\s*\}\}`), vars: map[string]string{
					"users.email": rows[vu][0], "users.password": rows[vu][1],
					"vu": strconv.Itoa(vu), "iteration": "0",
				}}
				for _, st := range sc["steps"].([]any) {
					x.step(c, st.(map[string]any))
				}
			}
		})
	}
}

type interp struct {
	t    *testing.T
	rng  *rand.Rand
	vars map[string]string
	expr *regexp.Regexp // one {{ … }}
}

// expand replaces every {{ … }} of s.
func (x *interp) expand(s string) string {
	return x.expr.ReplaceAllStringFunc(s, func(m string) string {
		expr := x.expr.FindStringSubmatch(m)[1]
		if v, ok := x.vars[expr]; ok {
			return v
		}
		name, args, isCall := strings.Cut(strings.TrimSuffix(expr, ")"), "(")
		var n []int
		for a := range strings.SplitSeq(args, ",") {
			if v, err := strconv.Atoi(strings.TrimSpace(a)); err == nil {
				n = append(n, v)
			}
		}
		switch {
		case isCall && name == "random_int" && len(n) == 2:
			return strconv.Itoa(n[0] + x.rng.IntN(n[1]-n[0]+1))
		case isCall && name == "random_string" && len(n) == 1:
			return strings.Repeat("x", n[0])
		case expr == "uuid":
			return "00000000-0000-4000-8000-000000000000"
		}
		x.t.Fatalf("template %q: unknown name or function", m)
		return ""
	})
}

func (x *interp) step(c *client, st map[string]any) {
	t := x.t
	t.Helper()
	name, _ := st["name"].(string)
	method, _ := st["method"].(string)
	var body string
	switch {
	case st["body"] != nil:
		body = x.expand(st["body"].(string))
	case st["json"] != nil:
		b, err := json.Marshal(st["json"])
		if err != nil {
			t.Fatalf("step %q: %v", name, err)
		}
		body = x.expand(string(b))
	}
	if method == "" {
		method = map[bool]string{true: "POST", false: "GET"}[body != ""]
	}
	u := c.base + x.expand(st["path"].(string))
	if q, ok := st["query"].(map[string]any); ok {
		vals := url.Values{}
		for k, v := range q {
			vals.Set(k, x.expand(fmt.Sprint(v)))
		}
		u += "?" + vals.Encode()
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	if err != nil {
		t.Fatalf("step %q: %v", name, err)
	}
	if h, ok := st["headers"].(map[string]any); ok {
		for k, v := range h {
			req.Header.Set(k, x.expand(fmt.Sprint(v)))
		}
	}
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatalf("step %q: %v", name, err)
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("step %q: %v", name, err)
	}
	resBody := buf.String()

	check, _ := st["check"].(map[string]any)
	wantStatus := []int{}
	switch s := check["status"].(type) {
	case nil:
	case []any:
		for _, v := range s {
			wantStatus = append(wantStatus, toInt(v))
		}
	default:
		wantStatus = append(wantStatus, toInt(s))
	}
	ok := res.StatusCode >= 200 && res.StatusCode < 400
	if len(wantStatus) > 0 {
		ok = false
		for _, code := range wantStatus {
			ok = ok || code == res.StatusCode
		}
	}
	if !ok {
		t.Fatalf("step %q: %s %s: status %d, want %v: %s", name, method, u, res.StatusCode, wantStatus, resBody)
	}
	jsonChecks, _ := check["json"].([]any)
	for _, jc := range jsonChecks {
		m := jc.(map[string]any)
		r := gjson.Get(resBody, x.expand(m["path"].(string)))
		if exists, ok := m["exists"].(bool); ok && r.Exists() != exists {
			t.Errorf("step %q: %s exists = %v, want %v: %s", name, m["path"], r.Exists(), exists, resBody)
		}
		if eq, ok := m["equals"]; ok && r.String() != x.expand(fmt.Sprint(eq)) {
			t.Errorf("step %q: %s = %q, want %v", name, m["path"], r.String(), eq)
		}
	}
	extract, _ := st["extract"].(map[string]any)
	for v, spec := range extract {
		e := spec.(map[string]any)
		switch {
		case e["json"] != nil:
			r := gjson.Get(resBody, e["json"].(string))
			if !r.Exists() {
				t.Fatalf("step %q: extract %s: no %s in %s", name, v, e["json"], resBody)
			}
			x.vars[v] = r.String()
		case e["header"] != nil:
			x.vars[v] = res.Header.Get(e["header"].(string))
		default:
			t.Fatalf("step %q: extractor %v not supported by this test", name, e)
		}
	}
}
