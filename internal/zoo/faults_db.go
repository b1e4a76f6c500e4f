package zoo

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// This file plants database faults, on an embedded SQLite database: a
// query that scans a table, a page that queries once per row (N+1), and
// a connection pool too small for a request that holds its connection
// across a remote call.

// openDB opens (creating) the SQLite database file name in s's directory,
// registers its pool statistics with Prometheus (the go_sql_* series) and
// closes it when the service stops.
func openDB(s *setup, name string, maxOpen int) (*sql.DB, error) {
	path := filepath.Join(s.dir, name+".db")
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	s.onClose(db.Close)
	if err := s.reg.Register(collectors.NewDBStatsCollector(db, name)); err != nil {
		return nil, err
	}
	return db, nil
}

// seed runs the schema statements, then inserts rows made by row(i) for
// i in [0, n) with insert, in one transaction.
func seed(ctx context.Context, db *sql.DB, schema []string, insert string, n int, row func(i int) []any) error {
	for _, q := range schema {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, insert)
	if err != nil {
		return err
	}
	for i := range n {
		if _, err := st.ExecContext(ctx, row(i)...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// email is customer c's address.
func email(c int) string { return "customer" + strconv.Itoa(c) + "@example.com" }

// --- slow-sql: a lookup by an unindexed column ---

// ordersRows and customers size the orders table of slow-sql.
const (
	ordersRows = 40000
	customers  = 2000
)

type orderSearch struct {
	db *sql.DB
}

func buildOrderSearch(s *setup) error {
	db, err := openDB(s, "orders", 8)
	if err != nil {
		return err
	}
	// No index on customer_email: the planted fault.
	err = seed(s.ctx, db, []string{
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_email TEXT NOT NULL, total_cents INTEGER NOT NULL, created INTEGER NOT NULL)`,
	}, `INSERT INTO orders (customer_email, total_cents, created) VALUES (?, ?, ?)`, ordersRows,
		func(i int) []any { return []any{email(i % customers), 500 + i*37%20000, 1700000000 + i*60} })
	if err != nil {
		return err
	}
	o := &orderSearch{db: db}
	s.handle("GET /orders", o.ordersHandler)
	return nil
}

type orderRow struct {
	ID         int64 `json:"id"`
	TotalCents int64 `json:"total_cents"`
	Created    int64 `json:"created"`
}

func (o *orderSearch) ordersHandler(w http.ResponseWriter, r *http.Request) {
	rows, err := o.findOrdersByEmail(r.Context(), email(query(r, "customer", 1)))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": rows})
}

// findOrdersByEmail is the planted fault: it looks orders up by the
// customer's email, a column without an index, so every call scans the
// whole orders table inside SQLite.
func (o *orderSearch) findOrdersByEmail(ctx context.Context, addr string) ([]orderRow, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT id, total_cents, created FROM orders WHERE customer_email = ? ORDER BY created DESC LIMIT 20`, addr)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []orderRow
	for rows.Next() {
		var r orderRow
		if err := rows.Scan(&r.ID, &r.TotalCents, &r.Created); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// --- n-plus-one: a page of orders, then a query per order ---

const (
	npOrders    = 12000
	npCustomers = 300 // 40 orders each
	npItems     = 3   // per order
)

type orderHistory struct {
	db *sql.DB
}

func buildOrderHistory(s *setup) error {
	db, err := openDB(s, "history", 8)
	if err != nil {
		return err
	}
	err = seed(s.ctx, db, []string{
		`CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, total_cents INTEGER NOT NULL)`,
		`CREATE INDEX orders_customer ON orders (customer_id)`,
		`CREATE TABLE items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, sku INTEGER NOT NULL, qty INTEGER NOT NULL)`,
		`CREATE INDEX items_order ON items (order_id)`,
	}, `INSERT INTO orders (id, customer_id, total_cents) VALUES (?, ?, ?)`, npOrders,
		func(i int) []any { return []any{i + 1, i%npCustomers + 1, 500 + i*37%20000} })
	if err == nil {
		err = seed(s.ctx, db, nil, `INSERT INTO items (order_id, sku, qty) VALUES (?, ?, ?)`, npOrders*npItems,
			func(i int) []any { return []any{i/npItems + 1, i*13%997 + 1, i%4 + 1} })
	}
	if err != nil {
		return err
	}
	h := &orderHistory{db: db}
	s.handle("GET /history", h.historyHandler)
	return nil
}

type orderWithItems struct {
	ID         int64      `json:"id"`
	TotalCents int64      `json:"total_cents"`
	Items      [][3]int64 `json:"items"`
}

func (h *orderHistory) historyHandler(w http.ResponseWriter, r *http.Request) {
	orders, err := h.listOrdersWithItems(r.Context(), query(r, "customer", 1))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": orders})
}

// listOrdersWithItems is the planted fault: it lists a customer's orders,
// then queries each order's items on its own — 41 round trips to the
// database where one join would do.
func (h *orderHistory) listOrdersWithItems(ctx context.Context, customer int) ([]orderWithItems, error) {
	rows, err := h.db.QueryContext(ctx, `SELECT id, total_cents FROM orders WHERE customer_id = ? ORDER BY id`, customer)
	if err != nil {
		return nil, err
	}
	var out []orderWithItems
	for rows.Next() {
		var o orderWithItems
		if err := rows.Scan(&o.ID, &o.TotalCents); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, o)
	}
	rows.Close()
	for i := range out {
		items, err := h.db.QueryContext(ctx, `SELECT id, sku, qty FROM items WHERE order_id = ?`, out[i].ID)
		if err != nil {
			return nil, err
		}
		for items.Next() {
			var it [3]int64
			if err := items.Scan(&it[0], &it[1], &it[2]); err != nil {
				items.Close()
				return nil, err
			}
			out[i].Items = append(out[i].Items, it)
		}
		items.Close()
	}
	return out, nil
}

// --- pool-exhaustion: a connection held across a remote call ---

const (
	poolSize   = 4
	fraudCheck = 20 * time.Millisecond // the remote call made while holding a connection
)

type inventory struct {
	db *sql.DB
}

func buildInventory(s *setup) error {
	db, err := openDB(s, "inventory", poolSize)
	if err != nil {
		return err
	}
	err = seed(s.ctx, db, []string{
		`CREATE TABLE stock (sku INTEGER PRIMARY KEY, available INTEGER NOT NULL)`,
	}, `INSERT INTO stock (sku, available) VALUES (?, ?)`, 1000, func(i int) []any { return []any{i + 1, 100 + i%50} })
	if err != nil {
		return err
	}
	inv := &inventory{db: db}
	s.handle("POST /reserve", inv.reserveHandler)
	return nil
}

func (inv *inventory) reserveHandler(w http.ResponseWriter, r *http.Request) {
	left, err := inv.reserveStock(r.Context(), query(r, "sku", 1))
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"available": left})
}

// reserveStock is the planted fault: it takes a connection from a pool of
// four, reads the stock, and keeps the connection while it calls the
// fraud check (fraudCheck) before reading again. Connections are busy
// mostly doing nothing, and requests queue for the pool.
func (inv *inventory) reserveStock(ctx context.Context, sku int) (int, error) {
	conn, err := inv.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var before, after int
	if err := conn.QueryRowContext(ctx, `SELECT available FROM stock WHERE sku = ?`, sku).Scan(&before); err != nil {
		return 0, err
	}
	if err := checkFraud(ctx, sku); err != nil {
		return 0, err
	}
	if err := conn.QueryRowContext(ctx, `SELECT available FROM stock WHERE sku = ?`, sku).Scan(&after); err != nil {
		return 0, err
	}
	return min(before, after), nil
}

// checkFraud stands for a call to a remote fraud service.
func checkFraud(ctx context.Context, sku int) error {
	t := time.NewTimer(fraudCheck)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("fraud check for sku %d: %w", sku, ctx.Err())
	}
}
