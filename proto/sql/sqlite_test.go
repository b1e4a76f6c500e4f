package sql_test

import (
	"context"
	stdsql "database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/proto"
	"github.com/stampede-perf/stampede/tmpl"
)

const sqliteShop = `
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, stock INTEGER NOT NULL, views INTEGER NOT NULL DEFAULT 0, note TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL REFERENCES products (id), quantity INTEGER NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
INSERT INTO products (id, name, stock) SELECT i, 'product ' || i, 1000 FROM n;
`

// newSQLiteShop creates a small shop database file and returns its path
// and a handle for checking what the steps did.
func newSQLiteShop(t *testing.T) (string, *stdsql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shop.db")
	db, err := stdsql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(sqliteShop); err != nil {
		t.Fatalf("schema: %v", err)
	}
	return path, db
}

const sqlitePlan = `
name: shop on sqlite
databases:
  shop:
    driver: sqlite
    dsn: "file:${SHOP_DB}?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)"
    pool: 3
scenarios:
  - name: buy
    steps:
      - name: pick product
        sql:
          query: "SELECT id, name FROM products WHERE id = ?"
          args: ["{{ random_int(1, 10) }}"]
        extract: { product_id: { column: id }, product_name: { column: name } }
        check: { rows: 1 }
      - name: place order
        sql:
          tx:
            - "UPDATE products SET stock = stock - 1 WHERE id = {{ product_id }}"
            - "INSERT INTO orders (product_id, quantity) VALUES ({{ product_id }}, 1)"
      - name: recent orders
        sql:
          vars: { n: "{{ random_int(1, 3) }}" }
          query: "SELECT id FROM orders WHERE product_id = {{ product_id }} ORDER BY id DESC LIMIT {{ n }}"
        check: { min_rows: 1 }
      - name: open
        sql: { begin: true }
      - name: count view
        sql: { query: "UPDATE products SET views = views + 1 WHERE id = {{ product_id }} AND name = {{ product_name }}" }
        check: { rows: 1 }
      - name: close
        sql: { commit: true }
load: { vus: 4, iterations: 200 }
`

// TestSQLiteShop runs a scenario of every kind of SQL step against a
// SQLite file through the real engine and checks the database afterwards.
func TestSQLiteShop(t *testing.T) {
	path, db := newSQLiteShop(t)
	r := run(t, parse(t, sqlitePlan), env{"SHOP_DB": path})
	if r.Summary.Errors != 0 {
		t.Fatalf("%d errors: %s", r.Summary.Errors, errs(r))
	}
	if r.Summary.Iterations != 200 {
		t.Fatalf("iterations = %d, want 200", r.Summary.Iterations)
	}
	for _, c := range []struct {
		step string
		rows int64
	}{
		{"pick product", 200}, // one row each
		{"place order", 400},  // two statements of one row each
		{"count view", 200},   // one row updated
		{"open", 0}, {"close", 0},
	} {
		s := step(t, r, c.step)
		if s.Kind != "sql" || s.Requests != 200 || s.Rows != c.rows {
			t.Errorf("step %q: kind %q, %d requests, %d rows; want sql, 200, %d", c.step, s.Kind, s.Requests, s.Rows, c.rows)
		}
	}
	if s := step(t, r, "pick product"); s.Phases.PoolWait <= 0 {
		t.Errorf("pick product: pool wait %.3f ms, want it measured", s.Phases.PoolWait)
	}
	if s := step(t, r, "recent orders"); s.Rows < 200 || s.Rows > 600 {
		t.Errorf("recent orders returned %d rows, want 1 to 3 per request", s.Rows)
	}
	var orders, sold, views int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM orders), (SELECT sum(1000 - stock) FROM products), (SELECT sum(views) FROM products)`).Scan(&orders, &sold, &views); err != nil {
		t.Fatal(err)
	}
	if orders != 200 || sold != 200 || views != 200 {
		t.Errorf("database after the run: %d orders, %d sold, %d views; want 200 each", orders, sold, views)
	}
}

// TestSQLiteOutcomes drives single steps to check rows, checks,
// extraction of NULL, and an SQL error.
func TestSQLiteOutcomes(t *testing.T) {
	path, _ := newSQLiteShop(t)
	p := parse(t, `
databases:
  shop: { driver: sqlite, dsn: "file:${SHOP_DB}" }
scenarios:
  - name: s
    steps:
      - name: two rows, want one
        sql: { query: "SELECT id FROM products WHERE id <= 2" }
        check: { rows: 1 }
      - name: null note
        sql: { query: "SELECT note FROM products WHERE id = 1" }
        extract: { note: { column: note } }
      - name: bad table
        sql: { query: "SELECT * FROM nowhere" }
      - name: no such column
        sql: { query: "SELECT id FROM products WHERE id = 1" }
        extract: { x: { column: price } }
      - name: commit without begin
        sql: { commit: true }
      - name: inline value
        sql: { query: "SELECT name FROM products WHERE id = {{ vu }}" }
        extract: { name: { column: name } }
        check: { rows: 1 }
load: { iterations: 1 }
`)
	test, _ := compile(t, p, env{"SHOP_DB": path})
	v := newVU(t, test, 7)
	for j, want := range []metrics.ErrKind{
		metrics.KindCheckFailed, metrics.KindExtractFailed, metrics.KindSQL, metrics.KindExtractFailed, metrics.KindSQL, metrics.KindNone,
	} {
		s := v.do(j)
		if s.Kind != want {
			t.Errorf("step %d (%s): kind %v, want %v", j, p.Scenarios[0].Steps[j].Name, s.Kind, want)
		}
	}
	if got, _ := v.state.Get("name"); got != "product 7" {
		t.Errorf("extracted name = %q, want %q", got, "product 7")
	}
	if s := v.do(0); s.Rows != 2 {
		t.Errorf("rows = %d, want 2", s.Rows)
	}
}

// BenchmarkStepSQLite is the runner's own cost per step around a cheap
// statement: templates, pool acquire, rows, extraction.
func BenchmarkStepSQLite(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.db")
	db, err := stdsql.Open("sqlite", "file:"+path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(sqliteShop); err != nil {
		b.Fatal(err)
	}
	db.Close()
	p := parseB(b, `
databases:
  shop: { driver: sqlite, dsn: "file:${SHOP_DB}", pool: 1 }
scenarios:
  - name: s
    steps:
      - sql: { query: "SELECT id, name FROM products WHERE id = {{ random_int(1, 10) }}" }
        extract: { name: { column: name } }
        check: { rows: 1 }
load: { iterations: 1 }
`)
	test, _, err := proto.Compile(p, proto.Options{Getenv: env{"SHOP_DB": path}.get})
	if err != nil {
		b.Fatal(err)
	}
	state := tmpl.NewState(1, nil, nil)
	vu := load.NewTestVU(1, test.NewSlots(nil), state)
	defer func() {
		for _, s := range vu.Slots {
			if c, ok := s.(interface{ Close() error }); ok {
				c.Close()
			}
		}
	}()
	st := test.Scenarios[0].Steps[0]
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		vu.Iter++
		state.NewIteration(vu.Iter)
		var s metrics.Sample
		st.Do(ctx, vu, &s)
		if s.Kind != metrics.KindNone {
			b.Fatalf("step failed: %v", s.Kind)
		}
	}
}

func parseB(b *testing.B, doc string) *plan.Plan {
	p, err := plan.Parse("bench.yaml", []byte(doc))
	if err != nil {
		b.Fatal(err)
	}
	return p
}
