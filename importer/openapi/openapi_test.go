package openapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/importer"
	"github.com/stampede-perf/stampede/importer/importertest"
	"github.com/stampede-perf/stampede/plan"
)

func importShop(t *testing.T) (string, string, *plan.Plan) {
	t.Helper()
	res, err := Import("testdata/shop.yaml", "shop-params.csv")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shop-params.csv"), res.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	data, p := importertest.Check(t, res.Plan, dir)
	return string(data), string(res.Data), p
}

func TestShop(t *testing.T) {
	data, csv, p := importShop(t)
	if p.Name != "Demo shop API" || p.Target.BaseURL != "http://127.0.0.1:8080" {
		t.Errorf("plan %q at %q", p.Name, p.Target.BaseURL)
	}
	// One scenario per tag, in the description's tag order; operations
	// without a tag last.
	var scenarios []string
	steps := map[string]*plan.Step{}
	for _, s := range p.Scenarios {
		scenarios = append(scenarios, s.Name)
		for _, st := range s.Steps {
			steps[s.Name+"/"+st.Name] = st
		}
	}
	if got := strings.Join(scenarios, ","); got != "catalogue,auth,cart,orders,untagged" {
		t.Errorf("scenarios %s", got)
	}
	if len(steps) != 9 {
		t.Errorf("%d steps, want one per operation (9)", len(steps))
	}
	checks := []struct{ got, want string }{
		// Path parameters read the data file; a shared $ref parameter is one column.
		{steps["catalogue/getProduct"].Path, "/api/products/{{ params.id }}"},
		{steps["catalogue/GET /api/products/{id}/reviews"].Path, "/api/products/{{ params.id }}/reviews"},
		{steps["orders/getOrder"].Path, "/api/orders/{{ params.orderId }}"},
		{csv, "orderId,id\n5012,42\n"},
		// Required parameters get their examples; optional ones are listed.
		{steps["catalogue/listProducts"].Query["limit"], "20"},
		{steps["orders/getOrder"].Headers["X-Trace"], "00000000-0000-4000-8000-000000000001"},
		// The example body, with a stray template kept as text.
		{steps["auth/login"].Body, "{\n  \"email\": \"user1@shop.test\",\n  \"password\": \"{{ \"{{\" }} not a template }}\"\n}"},
		// A body generated from a schema in another file: example, default,
		// type; a nullable $ref string.
		{steps["cart/addToCart"].Body, "{\n  \"gift\": true,\n  \"note\": \"example\",\n  \"product_id\": 7,\n  \"quantity\": 2\n}"},
		{steps["cart/addToCart"].Headers["Content-Type"], "application/json"},
		// The login is public (security: []), so credentials go on each
		// step that needs them, not on the target.
		{p.Target.Headers["Authorization"], ""},
		{steps["auth/login"].Headers["Authorization"], ""},
		{steps["cart/getCart"].Headers["Authorization"], "Bearer {{ env.API_BEARER }}"},
		{steps["orders/getOrder"].Headers["Authorization"], "Bearer {{ env.API_BEARER }}"},
		{p.Data["params"].Mode, "random"},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %q, want %q", i, c.got, c.want)
		}
	}
	for name, want := range map[string]int{"orders/checkout": 201, "catalogue/getProduct": 200} {
		if s := steps[name].Check; s == nil || len(s.Status) != 1 || s.Status[0] != want {
			t.Errorf("%s check %+v, want status %d", name, s, want)
		}
	}
	if steps["untagged/GET /healthz"].Check != nil {
		t.Error("an operation with only a default response got a status check")
	}
	for _, c := range []string{"Optional parameters not sent: page, q.", "set API_BEARER", "Decide: the body was generated", "#   id: getProduct, GET /api/products/{id}/reviews"} {
		if !strings.Contains(data, c) {
			t.Errorf("the plan lacks %q", c)
		}
	}
}

// A recursive schema (Product.related) ends instead of recursing forever.
func TestRecursiveSchema(t *testing.T) {
	doc := `openapi: 3.0.3
info: {title: R, version: "1"}
paths:
  /nodes:
    post:
      requestBody:
        content:
          application/json:
            schema: { $ref: "#/components/schemas/Node" }
      responses: {"201": {description: made}}
components:
  schemas:
    Node:
      type: object
      properties:
        name: { type: string }
        children: { type: array, items: { $ref: "#/components/schemas/Node" } }
`
	res, err := ImportData([]byte(doc), filepath.Join(t.TempDir(), "r.yaml"), "r.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, p := importertest.Check(t, res.Plan, t.TempDir())
	if got := p.Scenarios[0].Steps[0].Body; got != "{\n  \"children\": [],\n  \"name\": \"example\"\n}" {
		t.Errorf("body %q", got)
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	if err := os.WriteFile(outside, []byte("X: {type: string}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, doc, want string }{
		{"broken-ref.yaml", "", "broken-ref.yaml:12:23: broken $ref #/components/schemas/Missing"},
		{"swagger.json", `{"swagger": "2.0", "info": {"title": "x", "version": "1"}, "paths": {}}`, "not an OpenAPI 3.x description (openapi: none"},
		{"bad.yaml", "openapi: 3.0.3\ninfo: [\n", "bad.yaml:3: not an OpenAPI description"},
		{"text.yaml", "hello", "text.yaml:1: not an OpenAPI description: failed to unmarshal"},
		{"empty.yaml", "openapi: 3.0.3\ninfo: {title: e, version: '1'}\npaths: {}\n", "no operations to import"},
		{"far.yaml", "openapi: 3.0.3\ninfo: {title: e, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: x\n          content:\n            application/json:\n              schema: {$ref: '" + outside + "#/X'}\n",
			"far.yaml:11:30: broken $ref " + outside},
		{"net.yaml", "openapi: 3.0.3\ninfo: {title: e, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: x\n          content:\n            application/json:\n              schema: {$ref: 'http://127.0.0.1:9/s.yaml#/X'}\n",
			"leaves the local files"},
	}
	for _, c := range cases {
		file := filepath.Join("testdata", c.name)
		if c.doc != "" {
			file = filepath.Join(dir, c.name)
			if err := os.WriteFile(file, []byte(c.doc), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := Import(file, "x.csv")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant …%s…", c.name, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: not one line: %q", c.name, err)
		}
	}
}

func FuzzImport(f *testing.F) {
	for _, name := range []string{"testdata/shop.yaml", "testdata/broken-ref.yaml", "testdata/petstore-expanded.yaml"} {
		seed, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(seed)
	}
	f.Add([]byte(`{"openapi":"3.1.0","info":{"title":"t","version":"1"},"servers":[{"url":"/v1"}],"paths":{"/a/{b c}/{d}":{"put":{"parameters":[{"name":"b c","in":"path","required":true,"schema":{"type":"string","enum":["x,y"]}}],"requestBody":{"content":{"application/x-www-form-urlencoded":{"schema":{"type":"object","properties":{"k":{"type":"number"}}}}}},"responses":{"204":{"description":"ok"}}}}}}`))
	// A path parameter with no example or schema: its one CSV field is empty.
	f.Add([]byte(`{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{"/{b c}0":{"put":{"parameters":[{"name":"b c","in":"path","required":true}],"responses":{"default":{"description":"x"}}}}}}`))
	dir := f.TempDir() // one per worker process; executions in it run one at a time
	f.Fuzz(func(t *testing.T, in []byte) {
		file := filepath.Join(dir, "api.yaml")
		res, err := ImportData(in, file, "api-params.csv")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("not one line: %q", err)
			}
			return
		}
		data, err := importer.Write(res.Plan, filepath.Join(dir, "plan.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Data != nil {
			if err := os.WriteFile(filepath.Join(dir, "api-params.csv"), res.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		pl, err := plan.Parse(filepath.Join(dir, "plan.yaml"), data)
		if err != nil {
			t.Fatal(err)
		}
		if err := importertest.Compile(pl); err != nil {
			t.Fatalf("%v\n%s\n%s", err, data, res.Data)
		}
	})
}

// The OpenAPI Initiative's "petstore-expanded" example: no tags, a server
// with a base path, an operationId with spaces, allOf schemas.
func TestPetstoreExpanded(t *testing.T) {
	res, err := Import("testdata/petstore-expanded.yaml", "pets.csv")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pets.csv"), res.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	data, p := importertest.Check(t, res.Plan, dir)
	if p.Target.BaseURL != "https://petstore.swagger.io" || len(p.Scenarios) != 1 || p.Scenarios[0].Name != "untagged" {
		t.Fatalf("%q, %d scenarios\n%s", p.Target.BaseURL, len(p.Scenarios), data)
	}
	var got []string
	for _, st := range p.Scenarios[0].Steps {
		got = append(got, st.Method+" "+st.Path+" "+st.Name)
	}
	want := []string{"GET /v2/pets findPets", "POST /v2/pets addPet", "GET /v2/pets/{{ params.id }} find pet by id", "DELETE /v2/pets/{{ params.id }} deletePet"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("steps:\n got %q\nwant %q", got, want)
	}
	if body := p.Scenarios[0].Steps[1].Body; body != "{\n  \"name\": \"example\",\n  \"tag\": \"example\"\n}" {
		t.Errorf("addPet body %q", body)
	}
	if string(res.Data) != "id\n1\n" {
		t.Errorf("data stub %q", res.Data)
	}
	if st := p.Scenarios[0].Steps[3].Check; st == nil || st.Status[0] != 204 {
		t.Errorf("delete check %+v", st)
	}
}

// Credentials every operation needs alike are the target's headers.
func TestSecurityOnTarget(t *testing.T) {
	doc := `openapi: 3.0.3
info: {title: S, version: "1"}
security: [{key: [], basic: []}]
paths:
  /a: {get: {responses: {"200": {description: ok}}}}
  /b: {delete: {responses: {"204": {description: gone}}}}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
    basic: {type: http, scheme: basic}
    oauth: {type: oauth2, flows: {}}
`
	res, err := ImportData([]byte(doc), filepath.Join(t.TempDir(), "s.yaml"), "s.csv")
	if err != nil {
		t.Fatal(err)
	}
	data, p := importertest.Check(t, res.Plan, t.TempDir())
	if p.Target.Headers["X-Api-Key"] != "{{ env.API_KEY }}" || p.Target.Headers["Authorization"] != "Basic {{ env.API_BASIC }}" {
		t.Errorf("target headers %v\n%s", p.Target.Headers, data)
	}
	for _, st := range p.Scenarios[0].Steps {
		if len(st.Headers) != 0 {
			t.Errorf("%s sends its own headers %v", st.Name, st.Headers)
		}
	}
}
