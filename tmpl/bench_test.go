package tmpl

import (
	"testing"

	"github.com/stampede-perf/stampede/plan"
)

// BenchmarkAppend is the per-request cost of a typical JSON body: literals,
// an extracted variable, a plan variable and two columns of one feeder row.
func BenchmarkAppend(b *testing.B) {
	tp, err := newTestCompiler(b).Compile(`{"email":"{{ users.email }}","password":"{{ users.password }}","order":"{{ order_id }}","api":"{{ base }}","vu":{{ vu }}}`)
	if err != nil {
		b.Fatal(err)
	}
	s := newTestState(1)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	var iter int64
	for b.Loop() {
		iter++
		s.NewIteration(iter)
		s.Set("order_id", "o-12345")
		buf = tp.Append(buf[:0], s)
	}
}

// BenchmarkAppendFunctions is the cost of the random and clock functions.
func BenchmarkAppendFunctions(b *testing.B) {
	tp, err := NewCompiler(nil, nil, nil).Compile(`{"id":"{{ uuid }}","n":{{ random_int(1, 1000) }},"s":"{{ random_string(16) }}","t":{{ timestamp }}}`)
	if err != nil {
		b.Fatal(err)
	}
	s := newTestState(1)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = tp.Append(buf[:0], s)
	}
}

func BenchmarkAppendStatic(b *testing.B) {
	tp, err := newTestCompiler(b).Compile("/api/v1/products?page=1")
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = tp.Append(buf[:0], nil)
	}
}

func BenchmarkCompile(b *testing.B) {
	c := newTestCompiler(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Compile(`{"email":"{{ users.email }}","order":"{{ order_id }}","n":{{ random_int(1, 9) }}}`); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	c, err := CompileCheck(&plan.Check{
		Status:       []int{200},
		BodyContains: "paid",
		JSON:         []*plan.JSONCheck{{Path: "order.id"}, {Path: "order.status", Equals: "paid"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"order":{"id":"o-17","status":"paid","items":[{"sku":"a","qty":1},{"sku":"b","qty":2}],"total":12.5}}`)
	b.ReportAllocs()
	for b.Loop() {
		if ok, reason := c.Check(200, body); !ok {
			b.Fatal(reason)
		}
	}
}

func BenchmarkExtractJSON(b *testing.B) {
	x, err := CompileExtractor(&plan.Extractor{JSON: "order.id"})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"order":{"id":"o-17","status":"paid","items":[{"sku":"a","qty":1},{"sku":"b","qty":2}],"total":12.5}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := x.Extract(body, nil); !ok {
			b.Fatal("no value")
		}
	}
}

func BenchmarkExtractRegex(b *testing.B) {
	x, err := CompileExtractor(&plan.Extractor{Regex: `"id":"([^"]+)"`})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"order":{"id":"o-17","status":"paid","items":[{"sku":"a","qty":1},{"sku":"b","qty":2}],"total":12.5}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := x.Extract(body, nil); !ok {
			b.Fatal("no value")
		}
	}
}
