package demo

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// schema is idempotent so an existing shop database can be reopened.
const schema = `
CREATE TABLE IF NOT EXISTS users (
	id            INTEGER PRIMARY KEY,
	email         TEXT    NOT NULL UNIQUE,
	name          TEXT    NOT NULL,
	password_hash BLOB    NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
	id          INTEGER PRIMARY KEY,
	name        TEXT    NOT NULL,
	price_cents INTEGER NOT NULL,
	stock       INTEGER NOT NULL CHECK (stock >= 0)
);
CREATE TABLE IF NOT EXISTS reviews (
	id         INTEGER PRIMARY KEY,
	product_id INTEGER NOT NULL REFERENCES products (id),
	user_id    INTEGER NOT NULL REFERENCES users (id),
	rating     INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
	body       TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_by_product ON reviews (product_id);
CREATE TABLE IF NOT EXISTS cart_items (
	user_id    INTEGER NOT NULL REFERENCES users (id),
	product_id INTEGER NOT NULL REFERENCES products (id),
	quantity   INTEGER NOT NULL CHECK (quantity > 0),
	PRIMARY KEY (user_id, product_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orders (
	id          INTEGER PRIMARY KEY,
	user_id     INTEGER NOT NULL REFERENCES users (id),
	total_cents INTEGER NOT NULL,
	status      TEXT    NOT NULL,
	created_at  TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id);
CREATE TABLE IF NOT EXISTS order_items (
	order_id    INTEGER NOT NULL REFERENCES orders (id),
	product_id  INTEGER NOT NULL REFERENCES products (id),
	quantity    INTEGER NOT NULL,
	price_cents INTEGER NOT NULL,
	PRIMARY KEY (order_id, product_id)
) WITHOUT ROWID;
`

// maxLineQuantity caps one cart line, so carts stay small however long a
// test keeps adding to them.
const maxLineQuantity = 99

// statements are prepared once; database/sql re-prepares them lazily on
// each pooled connection.
type statements struct {
	// read pool
	login, profile                *sql.Stmt
	listAll, listMatch, countLike *sql.Stmt
	product, reviews, cart        *sql.Stmt
	order, orderItems             *sql.Stmt
	// write pool
	cartUpsert, checkoutLines, takeStock *sql.Stmt
	insertOrder, insertOrderItem         *sql.Stmt
	clearCart                            *sql.Stmt
}

func (st *statements) all() []**sql.Stmt {
	return []**sql.Stmt{
		&st.login, &st.profile, &st.listAll, &st.listMatch, &st.countLike,
		&st.product, &st.reviews, &st.cart, &st.order, &st.orderItems,
		&st.cartUpsert, &st.checkoutLines, &st.takeStock,
		&st.insertOrder, &st.insertOrderItem, &st.clearCart,
	}
}

func (st *statements) close() error {
	var errs []error
	for _, p := range st.all() {
		if *p != nil {
			errs = append(errs, (*p).Close())
		}
	}
	return errors.Join(errs...)
}

// openDB opens both pools, creates the schema, seeds an empty database and
// prepares the statements.
func (s *Shop) openDB(ctx context.Context, path string, products, users int) error {
	if strings.ContainsRune(path, '?') {
		return fmt.Errorf("cannot open demo shop database %q: the path must not contain '?'", path)
	}
	// busy_timeout only matters for the rare moments a reader meets a
	// checkpoint; our own writers queue in database/sql, not in SQLite.
	common := "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	var err error
	if s.wdb, err = sql.Open("sqlite", path+common+"&_pragma=foreign_keys(1)&_txlock=immediate"); err != nil {
		return fmt.Errorf("cannot open demo shop database %s: %w", path, err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxIdleTime(0)
	s.wdb.SetConnMaxLifetime(0)

	if _, err := s.wdb.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("cannot create demo shop schema in %s: %w", path, err)
	}
	var haveUsers int
	if err := s.wdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&haveUsers); err != nil {
		return fmt.Errorf("cannot read demo shop database %s: %w", path, err)
	}
	if haveUsers == 0 {
		if err := seed(ctx, s.wdb, products, users); err != nil {
			return fmt.Errorf("cannot seed demo shop database %s: %w", path, err)
		}
	} else {
		s.logf("demo shop: reusing the existing database %s", path)
	}

	if s.rdb, err = sql.Open("sqlite", path+common+"&_pragma=query_only(1)"); err != nil {
		return fmt.Errorf("cannot open demo shop database %s: %w", path, err)
	}
	// Readers are CPU-bound inside SQLite; a couple per core keeps the
	// cores busy without piling up page caches.
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	s.rdb.SetMaxOpenConns(readers)
	s.rdb.SetMaxIdleConns(readers)
	s.rdb.SetConnMaxIdleTime(0)
	s.rdb.SetConnMaxLifetime(0)

	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM products`).Scan(&s.products); err != nil {
		return fmt.Errorf("cannot read demo shop database %s: %w", path, err)
	}
	if err := s.prepare(ctx); err != nil {
		return fmt.Errorf("cannot prepare demo shop queries on %s: %w", path, err)
	}
	return nil
}

func (s *Shop) prepare(ctx context.Context) error {
	type prep struct {
		db    *sql.DB
		dst   **sql.Stmt
		query string
	}
	st := &s.st
	list := []prep{
		{s.rdb, &st.login, `SELECT id, password_hash FROM users WHERE email = ?`},
		{s.rdb, &st.profile, `SELECT u.id, u.email, u.name, (SELECT COUNT(*) FROM orders o WHERE o.user_id = u.id) FROM users u WHERE u.id = ?`},
		{s.rdb, &st.listAll, `SELECT id, name, price_cents, stock FROM products ORDER BY id LIMIT ? OFFSET ?`},
		{s.rdb, &st.listMatch, `SELECT id, name, price_cents, stock FROM products WHERE name LIKE ? ESCAPE '\' ORDER BY id LIMIT ? OFFSET ?`},
		{s.rdb, &st.countLike, `SELECT COUNT(*) FROM products WHERE name LIKE ? ESCAPE '\'`},
		{s.rdb, &st.product, `SELECT id, name, price_cents, stock FROM products WHERE id = ?`},
		{s.rdb, &st.reviews, `SELECT r.id, u.name, r.rating, r.body FROM reviews r JOIN users u ON u.id = r.user_id WHERE r.product_id = ? ORDER BY r.id`},
		{s.rdb, &st.cart, `SELECT c.product_id, p.name, c.quantity, p.price_cents FROM cart_items c JOIN products p ON p.id = c.product_id WHERE c.user_id = ? ORDER BY c.product_id`},
		{s.rdb, &st.order, `SELECT id, user_id, total_cents, status, created_at FROM orders WHERE id = ?`},
		{s.rdb, &st.orderItems, `SELECT i.product_id, p.name, i.quantity, i.price_cents FROM order_items i JOIN products p ON p.id = i.product_id WHERE i.order_id = ? ORDER BY i.product_id`},

		{s.wdb, &st.cartUpsert, `INSERT INTO cart_items (user_id, product_id, quantity) VALUES (?, ?, ?)
			ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = MIN(quantity + excluded.quantity, ` + fmt.Sprint(maxLineQuantity) + `)`},
		{s.wdb, &st.checkoutLines, `SELECT c.product_id, c.quantity, p.price_cents, p.stock FROM cart_items c JOIN products p ON p.id = c.product_id WHERE c.user_id = ? ORDER BY c.product_id`},
		{s.wdb, &st.takeStock, `UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?`},
		{s.wdb, &st.insertOrder, `INSERT INTO orders (user_id, total_cents, status, created_at) VALUES (?, ?, ?, ?)`},
		{s.wdb, &st.insertOrderItem, `INSERT INTO order_items (order_id, product_id, quantity, price_cents) VALUES (?, ?, ?, ?)`},
		{s.wdb, &st.clearCart, `DELETE FROM cart_items WHERE user_id = ?`},
	}
	for _, p := range list {
		stmt, err := p.db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Join(strings.Fields(p.query), " "), err)
		}
		*p.dst = stmt
	}
	return nil
}

// passwordHash is a salted SHA-256: good enough for seeded demo accounts,
// and cheap, so logins do not blur the CPU profile the hotspot fault is
// meant to stand out in. Real services want a slow password hash.
func passwordHash(email, password string) []byte {
	h := sha256.New()
	h.Write([]byte(email))
	h.Write([]byte{0})
	h.Write([]byte(password))
	return h.Sum(nil)
}

// seed fills an empty database in one transaction.
func seed(ctx context.Context, db *sql.DB, products, users int) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, tx.Rollback())
		}
	}()
	insUser, err := tx.PrepareContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for i := 1; i <= users; i++ {
		email := userEmail(i)
		if _, err := insUser.ExecContext(ctx, i, email, userName(i), passwordHash(email, userPassword(i))); err != nil {
			return err
		}
	}
	insProduct, err := tx.PrepareContext(ctx, `INSERT INTO products (id, name, price_cents, stock) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	insReview, err := tx.PrepareContext(ctx, `INSERT INTO reviews (product_id, user_id, rating, body) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	for i := 1; i <= products; i++ {
		p := seededProduct(i)
		if _, err := insProduct.ExecContext(ctx, p.ID, p.Name, p.PriceCents, p.Stock); err != nil {
			return err
		}
		for _, r := range seededReviews(i, users) {
			if _, err := insReview.ExecContext(ctx, i, r.userID, r.rating, r.body); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}
