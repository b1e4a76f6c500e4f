package sql_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stampede-perf/stampede/internal/pgtest"
	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	sqlstep "github.com/stampede-perf/stampede/proto/sql"
)

// TestPostgres runs the SQL steps against a real PostgreSQL started for
// the test: one cluster, a fresh database per subtest.
func TestPostgres(t *testing.T) {
	srv := pgtest.Start(t, pgtest.WithSetting("deadlock_timeout", "50ms"))
	t.Run("shop", func(t *testing.T) { testPgShop(t, srv.NewDatabase(t)) })
	t.Run("prepared", func(t *testing.T) { testPgPrepared(t, srv.NewDatabase(t)) })
	t.Run("errors", func(t *testing.T) { testPgErrors(t, srv.NewDatabase(t)) })
	t.Run("deadlock", func(t *testing.T) { testPgDeadlock(t, srv.NewDatabase(t)) })
	t.Run("refused", testPgRefused)
	t.Run("interrupt", func(t *testing.T) { testPgInterrupt(t, srv.NewDatabase(t)) })
	t.Run("docs", func(t *testing.T) { testPgDocs(t, srv.NewDatabase(t)) })
}

// testPgDocs runs the checkout plan of docs/database.md, so the
// documentation's example stays one that works.
func testPgDocs(t *testing.T, url string) {
	data, err := os.ReadFile("../../docs/database.md")
	if err != nil {
		t.Fatal(err)
	}
	var doc string
	for _, block := range strings.Split(string(data), "```yaml\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if strings.Contains(block, "name: checkout") {
			doc = block
		}
	}
	if doc == "" {
		t.Fatal("no checkout plan in docs/database.md")
	}
	exec(t, url, `CREATE TABLE products (id int PRIMARY KEY, price numeric(10,2) NOT NULL, stock int NOT NULL)`,
		`CREATE TABLE orders (id serial PRIMARY KEY, product_id int NOT NULL REFERENCES products, qty int NOT NULL, total numeric(10,2) NOT NULL)`,
		`INSERT INTO products SELECT i, i / 10.0, 1000000 FROM generate_series(1, 1000) i`)
	p := parse(t, doc)
	p.Load = plan.LoadSpec{Model: "closed", VUs: 4, Iterations: 100, GracefulStop: plan.DefaultGracefulStop}
	r := run(t, p, env{"SHOP_DSN": url})
	if r.Summary.Errors != 0 || r.Summary.Iterations != 100 {
		t.Fatalf("the documented plan: %d iterations, %d errors: %s", r.Summary.Iterations, r.Summary.Errors, errs(r))
	}
	if n := queryInt(t, url, "SELECT count(*) FROM orders o JOIN products p ON p.id = o.product_id WHERE o.total = p.price * o.qty"); n != 100 {
		t.Errorf("%d orders with the right total, want 100", n)
	}
}

// testPgInterrupt: a hard stop cuts a statement in flight at once, and
// no statement starts after it.
func testPgInterrupt(t *testing.T, url string) {
	p := parse(t, `
databases:
  main: { dsn: "${DSN}" }
scenarios:
  - name: s
    steps:
      - sql: { query: "SELECT pg_sleep(30)" }
load: { iterations: 1 }
`)
	test, _ := compile(t, p, env{"DSN": url})
	v := newVU(t, test, 1)
	var in load.Interrupter
	for _, s := range v.Slots {
		if i, ok := s.(*sqlstep.Session); ok {
			in = i
		}
	}
	if in == nil {
		t.Fatal("no SQL session in the VU's slots")
	}
	done := make(chan metrics.Sample)
	start := time.Now()
	go func() { done <- v.do(0) }()
	waitActive(t, url, "SELECT pg_sleep(30)")
	in.Interrupt()
	s := <-done
	if took := time.Since(start); took > 10*time.Second || s.Kind == metrics.KindNone {
		t.Errorf("interrupted statement: kind %v after %v; want a failure well before its 30 s", s.Kind, took)
	}
	if s := v.do(0); s.Kind == metrics.KindNone {
		t.Error("a statement ran after the interrupt")
	}
}

// waitActive polls pg_stat_activity until query runs: the condition the
// test needs, not a guess at how long it takes.
func waitActive(t *testing.T, url, query string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for queryInt(t, url, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = '"+query+"'") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s never became active", query)
		}
		time.Sleep(5 * time.Millisecond) // between polls, not instead of them
	}
}

// exec runs setup statements on url.
func exec(t *testing.T, url string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// query returns one integer.
func queryInt(t *testing.T, url, q string) int64 {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int64
	if err := c.QueryRow(ctx, q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

const pgShopPlan = `
name: shop on postgres
databases:
  main: { dsn: "${SHOP_DSN}", pool: 3, min_pool: 1 }
scenarios:
  - name: buy
    steps:
      - name: new customer
        sql:
          query: "INSERT INTO customers (email) VALUES ($1) RETURNING id"
          args: ["user-{{ vu }}-{{ iteration }}@example.com"]
        extract: { customer_id: { column: id } }
        check: { rows: 1 }
      - name: pick product
        sql:
          query: "SELECT id, price FROM products WHERE id = $1"
          args: ["{{ random_int(1, 20) }}"]
        extract: { product_id: { column: id }, price: { column: price } }
        check: { rows: 1 }
      - name: order
        sql:
          vars: { qty: "{{ random_int(1, 3) }}" }
          tx:
            - "UPDATE products SET stock = stock - {{ qty }} WHERE id = {{ product_id }}"
            - "INSERT INTO orders (customer_id, product_id, qty, total) VALUES ({{ customer_id }}, {{ product_id }}, {{ qty }}, {{ price }}::numeric * {{ qty }}::int)"
      - name: open
        sql: { db: main, begin: true, isolation: repeatable read }
      - name: orders so far
        sql: { query: "SELECT id FROM orders WHERE customer_id = {{ customer_id }}" }
        check: { min_rows: 1 }
      - name: note
        sql: { query: "UPDATE customers SET note = 'ordered ' || {{ product_id }} WHERE id = {{ customer_id }}" }
      - name: close
        sql: { db: main, commit: true }
load: { vus: 5, iterations: 300 }
`

func testPgShop(t *testing.T, url string) {
	exec(t, url,
		`CREATE TABLE customers (id serial PRIMARY KEY, email text UNIQUE NOT NULL, note text)`,
		`CREATE TABLE products (id int PRIMARY KEY, price numeric(10,2) NOT NULL, stock int NOT NULL)`,
		`CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers, product_id int NOT NULL REFERENCES products, qty int NOT NULL, total numeric(10,2) NOT NULL)`,
		`INSERT INTO products SELECT i, i * 1.25, 100000 FROM generate_series(1, 20) i`)
	r := run(t, parse(t, pgShopPlan), env{"SHOP_DSN": url})
	if r.Summary.Errors != 0 || r.Summary.Iterations != 300 {
		t.Fatalf("%d iterations, %d errors: %s", r.Summary.Iterations, r.Summary.Errors, errs(r))
	}
	for _, c := range []struct {
		step string
		rows int64
	}{
		{"new customer", 300}, {"pick product", 300}, {"order", 600}, {"orders so far", 300}, {"note", 300},
	} {
		if s := step(t, r, c.step); s.Rows != c.rows || s.Errors != 0 {
			t.Errorf("step %q: %d rows, %d errors; want %d rows", c.step, s.Rows, s.Errors, c.rows)
		}
	}
	// Five VUs share three connections: some steps waited for one.
	if pw := r.Summary.Phases.PoolWait; pw <= 0 {
		t.Errorf("pool wait %.3f ms, want it measured", pw)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM orders o JOIN products p ON p.id = o.product_id WHERE o.total = p.price * o.qty`); n != 300 {
		t.Errorf("%d orders with the right total, want 300 (extracted price and shared qty)", n)
	}
	if n := queryInt(t, url, `SELECT sum(100000 - stock) - (SELECT sum(qty) FROM orders) FROM products`); n != 0 {
		t.Errorf("stock and orders disagree by %d: the tx statements did not share qty", n)
	}
	if n := queryInt(t, url, `SELECT count(*) FROM customers c WHERE note = 'ordered ' || (SELECT product_id FROM orders o WHERE o.customer_id = c.id)`); n != 300 {
		t.Errorf("%d customers noted, want 300 (the begin…commit steps)", n)
	}
	// A closed connection's backend leaves pg_stat_activity when its
	// process has exited, a moment after the client is gone (the checks
	// above each used one too): poll until none is left. A pool left
	// open never goes.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := queryInt(t, url, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d connections left open 5 s after the run, want 0 (the last VU closes the pools)", n)
			break
		}
		time.Sleep(10 * time.Millisecond) // between polls, not instead of them
	}
}

// testPgPrepared checks that statements are prepared on their connection
// by default and not with prepared: false.
func testPgPrepared(t *testing.T, url string) {
	p := parse(t, `
databases:
  prep: { dsn: "${DSN}", pool: 1 }
  raw: { dsn: "${DSN}", pool: 1 }
scenarios:
  - name: s
    steps:
      - sql: { db: prep, query: "SELECT $1::int + 1 AS n", args: ["41"] }
        extract: { n: { column: n } }
      - name: count prepared
        sql: { db: prep, query: "SELECT count(*) AS c FROM pg_prepared_statements", prepared: false }
        extract: { prep_count: { column: c } }
      - name: unprepared
        sql: { db: raw, query: "SELECT $1::int + 1 AS n", args: ["41"], prepared: false }
      - name: count raw
        sql: { db: raw, query: "SELECT count(*) AS c FROM pg_prepared_statements", prepared: false }
        extract: { raw_count: { column: c } }
load: { iterations: 1 }
`)
	test, _ := compile(t, p, env{"DSN": url})
	v := newVU(t, test, 1)
	for j := range 4 {
		if s := v.do(j); s.Kind != metrics.KindNone {
			t.Fatalf("step %d: %v", j, s.Kind)
		}
	}
	n, _ := v.state.Get("n")
	prep, _ := v.state.Get("prep_count")
	raw, _ := v.state.Get("raw_count")
	if n != "42" || prep != "1" || raw != "0" {
		t.Errorf("n = %s, prepared statements on the prep connection %s, on the raw one %s; want 42, 1, 0", n, prep, raw)
	}
}

func testPgErrors(t *testing.T, url string) {
	exec(t, url, `CREATE TABLE acct (id int PRIMARY KEY, balance int NOT NULL)`,
		`INSERT INTO acct VALUES (1, 100), (2, 100)`)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	p := parse(t, `
databases:
  main: { dsn: "${DSN}", pool: 1, acquire_timeout: 1s }
  slow: { dsn: "${SLOW_DSN}", pool: 2 }
scenarios:
  - name: s
    steps:
      - name: open
        sql: { db: main, begin: true, isolation: repeatable read }
      - name: read
        sql: { db: main, query: "SELECT balance FROM acct WHERE id = 1" }
        extract: { balance: { column: balance } }
      - name: write
        sql: { db: main, query: "UPDATE acct SET balance = balance - 1 WHERE id = 1" }
      - name: close
        sql: { db: main, commit: true }
      - name: plain
        sql: { db: main, query: "SELECT 1" }
      - name: server timeout
        sql: { db: slow, query: "SELECT pg_sleep(5)" }
      - name: client timeout
        sql: { db: slow, query: "SELECT pg_sleep(5)", prepared: false }
        timeout: 100ms
      - name: lock
        sql: { db: slow, query: "UPDATE acct SET balance = 0 WHERE id = 2" }
      - name: bad
        sql: { db: main, query: "SELECT * FROM nowhere" }
load: { iterations: 1 }
`)
	e := env{"DSN": url, "SLOW_DSN": url + sep + "statement_timeout=400&lock_timeout=100"}
	test, _ := compile(t, p, e)
	a, b := newVU(t, test, 1), newVU(t, test, 2)
	expect := func(v *vu, j int, want metrics.ErrKind, why string) {
		t.Helper()
		if s := v.do(j); s.Kind != want {
			t.Errorf("%s: step %q of VU %d: kind %v, want %v", why, p.Scenarios[0].Steps[j].Name, v.ID, s.Kind, want)
		}
	}
	const open, read, write, closeTx, plain, serverTimeout, clientTimeout, lock, bad = 0, 1, 2, 3, 4, 5, 6, 7, 8

	// Pool exhaustion: a holds the only connection of main inside its
	// transaction, so b cannot get one within acquire_timeout.
	expect(a, open, metrics.KindNone, "begin")
	expect(b, plain, metrics.KindPoolExhausted, "the pool's one connection is held")
	// Serialization failure: a's repeatable-read snapshot is taken by
	// read; a row it then updates was changed and committed since.
	expect(a, read, metrics.KindNone, "snapshot")
	exec(t, url, `UPDATE acct SET balance = 50 WHERE id = 1`)
	expect(a, write, metrics.KindSerialization, "concurrent update under repeatable read")
	// The failure rolled a's transaction back and freed the connection.
	expect(a, closeTx, metrics.KindSQL, "commit after the failure ended the transaction")
	expect(b, plain, metrics.KindNone, "the connection is back in the pool")

	// statement_timeout (server) and the step timeout (client).
	expect(a, serverTimeout, metrics.KindTimeout, "statement_timeout 400ms")
	expect(a, clientTimeout, metrics.KindTimeout, "step timeout 100ms")

	// A transaction left open is rolled back when the VU's next
	// iteration uses the database, so it never spans iterations.
	a.next()
	expect(a, open, metrics.KindNone, "begin")
	expect(a, write, metrics.KindNone, "update inside the transaction")
	a.next()
	expect(a, plain, metrics.KindNone, "a new iteration")
	if got := queryInt(t, url, `SELECT balance FROM acct WHERE id = 1`); got != 50 {
		t.Errorf("balance %d after the abandoned transaction, want 50 (rolled back)", got)
	}
	expect(b, bad, metrics.KindSQL, "undefined table")

	// lock_timeout: another VU holds acct 2's row lock in a transaction.
	holdP := parse(t, `
databases:
  main: { dsn: "${DSN}" }
scenarios:
  - name: s
    steps:
      - sql: { begin: true }
      - sql: { query: "UPDATE acct SET balance = 1 WHERE id = 2" }
load: { iterations: 1 }
`)
	ht, _ := compile(t, holdP, e)
	holder := newVU(t, ht, 3)
	for j := range 2 {
		if s := holder.do(j); s.Kind != metrics.KindNone {
			t.Fatalf("holder step %d: %v", j, s.Kind)
		}
	}
	expect(b, lock, metrics.KindLockTimeout, "lock_timeout 100ms on a held row")
}

// testPgDeadlock makes two VUs lock two rows in opposite orders; the
// database breaks the cycle by failing one of them with 40P01.
func testPgDeadlock(t *testing.T, url string) {
	exec(t, url, `CREATE TABLE acct (id int PRIMARY KEY, balance int NOT NULL)`, `INSERT INTO acct VALUES (1, 0), (2, 0)`)
	p := parse(t, `
databases:
  main: { dsn: "${DSN}", pool: 2 }
scenarios:
  - name: s
    steps:
      - sql: { begin: true }
      - sql: { query: "UPDATE acct SET balance = balance + 1 WHERE id = {{ first }}" }
      - sql: { query: "UPDATE acct SET balance = balance + 1 WHERE id = {{ second }}" }
      - sql: { commit: true }
variables: { first: "0", second: "0" }
load: { iterations: 1 }
`)
	test, _ := compile(t, p, env{"DSN": url})
	a, b := newVU(t, test, 1), newVU(t, test, 2)
	a.state.Set("first", "1")
	a.state.Set("second", "2")
	b.state.Set("first", "2")
	b.state.Set("second", "1")
	for _, v := range []*vu{a, b} {
		for j := range 2 {
			if s := v.do(j); s.Kind != metrics.KindNone {
				t.Fatalf("VU %d step %d: %v", v.ID, j, s.Kind)
			}
		}
	}
	// Each now waits for the other's row: whichever order the two
	// updates reach the server, the cycle closes.
	var wg sync.WaitGroup
	kinds := make([]metrics.ErrKind, 2)
	for i, v := range []*vu{a, b} {
		wg.Go(func() {
			s := v.do(2)
			kinds[i] = s.Kind
			if s.Kind == metrics.KindNone {
				kinds[i] = v.do(3).Kind
			}
		})
	}
	wg.Wait()
	deadlocks, ok := 0, 0
	for _, k := range kinds {
		switch k {
		case metrics.KindDeadlock:
			deadlocks++
		case metrics.KindNone:
			ok++
		}
	}
	if deadlocks != 1 || ok != 1 {
		t.Fatalf("kinds %v, want one deadlock and one success", kinds)
	}
	if sum := queryInt(t, url, `SELECT sum(balance) FROM acct`); sum != 2 {
		t.Errorf("balance sum %d, want 2: only the survivor's two updates count", sum)
	}
}

// testPgRefused points a database at a closed port: connection_refused,
// and the example message does not carry the password.
func testPgRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	p := parse(t, `
databases:
  main: { dsn: "${DSN}" }
scenarios:
  - name: s
    steps:
      - sql: { query: "SELECT 1" }
load: { vus: 2, iterations: 4 }
`)
	r := run(t, p, env{"DSN": fmt.Sprintf("postgres://app:Sup3rS3cret@%s/x?sslmode=disable&connect_timeout=5", addr)})
	if len(r.Errors) != 1 || r.Errors[0].Kind != "connection_refused" || r.Errors[0].Count != 4 {
		t.Fatalf("errors %+v, want 4 connection_refused", r.Errors)
	}
	if strings.Contains(r.Errors[0].Example, "Sup3rS3cret") {
		t.Errorf("the error example shows the password: %s", r.Errors[0].Example)
	}
}
