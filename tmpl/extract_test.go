package tmpl

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stampede-perf/stampede/plan"
)

func TestExtract(t *testing.T) {
	body := []byte(`{"order":{"id":"o-17","total":12.50,"n":3,"big":12345678901234567890,"paid":false,"items":[{"sku":"a"},{"sku":"b"}],"note":null},"token":"t1"}
<a href="/orders/o-17?x=1">next</a>`)
	jsonBody := body[:bytes.IndexByte(body, '\n')]
	hdr := http.Header{}
	hdr.Set("Location", "/orders/o-17")
	hdr.Set("X-Empty", "")
	tests := []struct {
		name   string
		ex     plan.Extractor
		body   []byte
		header func(string) string
		want   string
		wantOK bool
	}{
		{"json string", plan.Extractor{JSON: "order.id"}, jsonBody, nil, "o-17", true},
		{"json number keeps its text", plan.Extractor{JSON: "order.n"}, jsonBody, nil, "3", true},
		{"json float is formatted shortest", plan.Extractor{JSON: "order.total"}, jsonBody, nil, "12.5", true},
		{"json big integer keeps every digit", plan.Extractor{JSON: "order.big"}, jsonBody, nil, "12345678901234567890", true},
		{"json false", plan.Extractor{JSON: "order.paid"}, jsonBody, nil, "false", true},
		{"json array element", plan.Extractor{JSON: "order.items.1.sku"}, jsonBody, nil, "b", true},
		{"json object is its JSON text", plan.Extractor{JSON: "order.items.0"}, jsonBody, nil, `{"sku":"a"}`, true},
		{"json count modifier", plan.Extractor{JSON: "order.items.#"}, jsonBody, nil, "2", true},
		{"json missing path", plan.Extractor{JSON: "order.nope"}, jsonBody, nil, "", false},
		{"json null counts as missing", plan.Extractor{JSON: "order.note"}, jsonBody, nil, "", false},
		{"json on a body that is not JSON", plan.Extractor{JSON: "order.id"}, []byte("<html>"), nil, "", false},
		{"json on an empty body", plan.Extractor{JSON: "order.id"}, nil, nil, "", false},
		{"regex first capture group by default", plan.Extractor{Regex: `href="/orders/([^"?]+)`}, body, nil, "o-17", true},
		{"regex explicit group", plan.Extractor{Regex: `href="/(\w+)/([^"?]+)`, Group: 2}, body, nil, "o-17", true},
		{"regex without groups returns the whole match", plan.Extractor{Regex: `o-\d+`}, body, nil, "o-17", true},
		{"regex no match", plan.Extractor{Regex: `id=(\d+)`}, body, nil, "", false},
		{"regex optional group that did not take part", plan.Extractor{Regex: `token(X)?`}, body, nil, "", false},
		{"header", plan.Extractor{Header: "location"}, nil, hdr.Get, "/orders/o-17", true},
		{"header absent", plan.Extractor{Header: "X-Nope"}, nil, hdr.Get, "", false},
		{"header empty counts as absent", plan.Extractor{Header: "X-Empty"}, nil, hdr.Get, "", false},
		{"header without a header func", plan.Extractor{Header: "Location"}, nil, nil, "", false},
		{"SQL column is left to the SQL runner", plan.Extractor{Column: "id"}, body, hdr.Get, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := CompileExtractor(&tt.ex)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := x.Extract(tt.body, tt.header)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Extract = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestExtractCopiesOutOfBody(t *testing.T) {
	for _, ex := range []plan.Extractor{{JSON: "id"}, {Regex: `"id":"(\w+)"`}} {
		x, err := CompileExtractor(&ex)
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"id":"abc"}`)
		got, _ := x.Extract(body, nil)
		copy(body, `{"id":"zzz"}`) // the response buffer is reused
		if got != "abc" {
			t.Errorf("%+v: value changed to %q when the body buffer was reused", ex, got)
		}
	}
}

func TestExtractorColumn(t *testing.T) {
	tests := []struct {
		name string
		ex   plan.Extractor
		want string
	}{
		{"SQL column extractor names its column", plan.Extractor{Column: "order_id"}, "order_id"},
		{"body extractor has no column", plan.Extractor{JSON: "id"}, ""},
	}
	for _, tt := range tests {
		x, err := CompileExtractor(&tt.ex)
		if err != nil {
			t.Fatal(err)
		}
		if got := x.Column(); got != tt.want {
			t.Errorf("%s: Column = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCompileExtractorErrors(t *testing.T) {
	tests := []struct {
		name string
		ex   *plan.Extractor
		want string
	}{
		{"nil", nil, "extractor is empty (set one of json, regex, header, column)"},
		{"nothing set", &plan.Extractor{}, "extractor sets none of json, regex, header, column (set one)"},
		{"two sources", &plan.Extractor{JSON: "a", Regex: "b"}, "extractor sets json and regex (set only one of json, regex, header, column)"},
		{"group without regex", &plan.Extractor{JSON: "a", Group: 1}, "extractor sets group without regex (group picks a capture group of regex)"},
		{"bad regex", &plan.Extractor{Regex: "(a"}, "extractor regex \"(a\": error parsing regexp: missing closing ): `(a`"},
		{"group beyond the regex", &plan.Extractor{Regex: "(a)", Group: 2}, `extractor group 2, but regex "(a)" has 1 capture groups`},
		{"negative group", &plan.Extractor{Regex: "(a)", Group: -1}, "extractor group -1 is negative (groups count from 1; 0 is the whole match)"},
	}
	for _, tt := range tests {
		_, err := CompileExtractor(tt.ex)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}
