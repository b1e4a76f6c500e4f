package demo

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"
)

// Request limits: bodies are small JSON documents; pages are bounded so one
// request cannot ask for the whole catalogue at once.
const (
	maxBodyBytes = 64 << 10
	defaultLimit = 20
	maxLimit     = 100
	maxQueryLen  = 100
)

type product struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
	Stock      int64  `json:"stock"`
}

type line struct {
	ProductID  int64  `json:"product_id"`
	Name       string `json:"name"`
	Quantity   int64  `json:"quantity"`
	PriceCents int64  `json:"price_cents"`
}

type errorBody struct {
	Error string `json:"error"`
}

// routes builds the shop's mux. Every path also gets a method-less pattern
// answering 405 (with Allow) in JSON, and "/" answers 404 in JSON; the more
// specific method patterns win, so each request is routed once.
func (s *Shop) routes() http.Handler {
	mux := http.NewServeMux()
	type endpoint struct {
		method string
		h      http.HandlerFunc
	}
	api := []struct {
		path      string
		endpoints []endpoint
	}{
		{"/api/auth/login", []endpoint{{http.MethodPost, s.login}}},
		{"/api/user/profile", []endpoint{{http.MethodGet, s.authed(s.profile)}}},
		{"/api/products", []endpoint{{http.MethodGet, s.listProducts}}},
		{"/api/products/{id}", []endpoint{{http.MethodGet, s.getProduct}}},
		{"/api/products/{id}/reviews", []endpoint{{http.MethodGet, s.getReviews}}},
		{"/api/cart/add", []endpoint{{http.MethodPost, s.authed(s.addToCart)}}},
		{"/api/cart", []endpoint{{http.MethodGet, s.authed(s.getCart)}}},
		{"/api/checkout", []endpoint{{http.MethodPost, s.authed(s.checkout)}}},
		{"/api/orders/{id}", []endpoint{{http.MethodGet, s.authed(s.getOrder)}}},
		{"/api/reports/sales", []endpoint{{http.MethodGet, s.salesReport}}},
	}
	for _, a := range api {
		var allow []string
		for _, e := range a.endpoints {
			pattern := e.method + " " + a.path
			mux.Handle(pattern, s.instrument(pattern, true, e.h))
			allow = append(allow, e.method)
		}
		mux.Handle(a.path, s.instrument(a.path, false, methodNotAllowed(allow...)))
	}
	mux.Handle("GET /healthz", s.instrument("GET /healthz", false, s.healthz))
	mux.HandleFunc("GET /ws/stock", s.stockFeed) // hijacked: not instrumented
	mux.Handle("/healthz", s.instrument("/healthz", false, methodNotAllowed(http.MethodGet)))
	mux.Handle("/", s.instrument("unmatched", false, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	}))

	// Scrapes and profiles are not counted as shop traffic.
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	mux.HandleFunc("/metrics", methodNotAllowed(http.MethodGet))
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// methodNotAllowed answers 405 with an Allow header; GET implies HEAD.
func methodNotAllowed(methods ...string) http.HandlerFunc {
	var allow []string
	for _, m := range methods {
		allow = append(allow, m)
		if m == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
	}
	header := strings.Join(allow, ", ")
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", header)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; use "+header)
	}
}

// statusWriter remembers the status code for the metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// instrument counts and times every request of one route; api requests also
// feed the leak fault when it is on.
func (s *Shop) instrument(route string, api bool, h http.HandlerFunc) http.Handler {
	rs := s.metrics.route(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if api && s.faults.leak {
			s.rememberRequest(r)
		}
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		rs.observe(sw.code, time.Since(start))
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	// The status line is out; an encoding error here can only be a client
	// that went away.
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{Error: msg})
}

// serverError logs the cause and answers 500 without exposing it; a request
// cancelled by its client is not logged as a shop error.
func (s *Shop) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if r.Context().Err() == nil {
		s.logf("demo shop: %s %s: %s: %v", r.Method, r.URL.Path, what, err)
	}
	writeError(w, http.StatusInternalServerError, "internal error")
}

// decodeBody reads one JSON object into dst, answering 400 itself when the
// body is not one.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err := dec.Decode(dst); err != nil {
		msg := "invalid JSON body: " + err.Error()
		if errors.Is(err, io.EOF) {
			msg = "missing JSON body"
		}
		writeError(w, http.StatusBadRequest, msg)
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "invalid JSON body: more than one value")
		return false
	}
	return true
}

// pathID parses the {id} wildcard, answering 400 itself when it is not a
// positive integer.
func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("invalid id %q: want a positive integer", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

// newToken returns 128 random bits, hex-encoded.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// sessionFor returns the user's token, creating it on first login. The token
// is stored before it is published in byUser, so any token a login returns
// is already valid.
func (s *Shop) sessionFor(userID int64) string {
	if tok, ok := s.byUser.Load(userID); ok {
		return tok.(string)
	}
	tok := newToken()
	s.sessions.Store(tok, userID)
	if actual, loaded := s.byUser.LoadOrStore(userID, tok); loaded {
		s.sessions.Delete(tok) // a concurrent login won
		return actual.(string)
	}
	return tok
}

// authed resolves the bearer token to a user, answering 401 itself when it
// is missing or unknown.
func (s *Shop) authed(h func(http.ResponseWriter, *http.Request, int64)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		scheme, tok, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shop"`)
			writeError(w, http.StatusUnauthorized, "missing bearer token")
			return
		}
		uid, found := s.sessions.Load(strings.TrimSpace(tok))
		if !found {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shop", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid or expired token")
			return
		}
		h(w, r, uid.(int64))
	}
}

func (s *Shop) healthz(w http.ResponseWriter, r *http.Request) {
	if err := s.rdb.PingContext(r.Context()); err != nil {
		s.serverError(w, r, "ping database", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// POST /api/auth/login {email, password} → 200 {token, user_id}
func (s *Shop) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Email == "" || req.Password == "" {
		writeError(w, http.StatusBadRequest, "email and password are required")
		return
	}
	var (
		id   int64
		hash []byte
	)
	err := s.st.login.QueryRowContext(r.Context(), req.Email).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		writeError(w, http.StatusUnauthorized, "invalid email or password")
		return
	}
	if err != nil {
		s.serverError(w, r, "look up user", err)
		return
	}
	if subtle.ConstantTimeCompare(hash, passwordHash(req.Email, req.Password)) != 1 {
		writeError(w, http.StatusUnauthorized, "invalid email or password")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Token  string `json:"token"`
		UserID int64  `json:"user_id"`
	}{s.sessionFor(id), id})
}

// GET /api/user/profile → {id, email, name, orders}
func (s *Shop) profile(w http.ResponseWriter, r *http.Request, uid int64) {
	if s.faults.lock {
		s.auditTrail(uid, "profile")
	}
	var p struct {
		ID     int64  `json:"id"`
		Email  string `json:"email"`
		Name   string `json:"name"`
		Orders int64  `json:"orders"`
	}
	err := s.st.profile.QueryRowContext(r.Context(), uid).Scan(&p.ID, &p.Email, &p.Name, &p.Orders)
	if err != nil { // the session exists, so the user does too
		s.serverError(w, r, "read profile", err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// queryInt reads an optional positive integer query parameter.
func queryInt(r *http.Request, name string, def, maxValue int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxValue {
		return 0, fmt.Errorf("invalid %s %q: want an integer from 1 to %d", name, v, maxValue)
	}
	return n, nil
}

// likePattern escapes LIKE's wildcards so q matches literally, anywhere in
// the name (ASCII case-insensitively, as SQLite's LIKE does).
func likePattern(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 2)
	b.WriteByte('%')
	for i := 0; i < len(q); i++ {
		if c := q[i]; c == '\\' || c == '%' || c == '_' {
			b.WriteByte('\\')
		}
		b.WriteByte(q[i])
	}
	b.WriteByte('%')
	return b.String()
}

// GET /api/products?page=&limit=&q= → {products, total, page, limit}
func (s *Shop) listProducts(w http.ResponseWriter, r *http.Request) {
	page, err := queryInt(r, "page", 1, math.MaxInt32)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	limit, err := queryInt(r, "limit", defaultLimit, maxLimit)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q := r.URL.Query().Get("q")
	if len(q) > maxQueryLen {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("q is longer than %d bytes", maxQueryLen))
		return
	}
	offset := int64(page-1) * int64(limit)
	ctx := r.Context()
	var (
		rows  *sql.Rows
		total = s.products
	)
	if q == "" {
		rows, err = s.st.listAll.QueryContext(ctx, limit, offset)
	} else {
		pat := likePattern(q)
		if err := s.st.countLike.QueryRowContext(ctx, pat).Scan(&total); err != nil {
			s.serverError(w, r, "count products", err)
			return
		}
		rows, err = s.st.listMatch.QueryContext(ctx, pat, limit, offset)
	}
	if err != nil {
		s.serverError(w, r, "list products", err)
		return
	}
	products := make([]product, 0, limit)
	for rows.Next() {
		var p product
		if err := rows.Scan(&p.ID, &p.Name, &p.PriceCents, &p.Stock); err != nil {
			_ = rows.Close()
			s.serverError(w, r, "list products", err)
			return
		}
		products = append(products, p)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		s.serverError(w, r, "list products", err)
		return
	}
	if s.faults.hotspot {
		if top := scoreProducts(products, q); top != 0 {
			w.Header().Set("X-Shop-Featured", strconv.FormatInt(top, 10))
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Products []product `json:"products"`
		Total    int64     `json:"total"`
		Page     int       `json:"page"`
		Limit    int       `json:"limit"`
	}{products, total, page, limit})
}

// readProduct answers 404 itself for an unknown id.
func (s *Shop) readProduct(w http.ResponseWriter, r *http.Request, id int64) (product, bool) {
	var p product
	err := s.st.product.QueryRowContext(r.Context(), id).Scan(&p.ID, &p.Name, &p.PriceCents, &p.Stock)
	if errors.Is(err, sql.ErrNoRows) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no product %d", id))
		return p, false
	}
	if err != nil {
		s.serverError(w, r, "read product", err)
		return p, false
	}
	return p, true
}

// GET /api/products/{id} → {id, name, price_cents, stock}
func (s *Shop) getProduct(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if p, ok := s.readProduct(w, r, id); ok {
		writeJSON(w, http.StatusOK, p)
	}
}

type review struct {
	ID     int64  `json:"id"`
	Author string `json:"author"`
	Rating int    `json:"rating"`
	Body   string `json:"body"`
}

// GET /api/products/{id}/reviews → {product_id, reviews, average}
func (s *Shop) getReviews(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	rows, err := s.st.reviews.QueryContext(r.Context(), id)
	if err != nil {
		s.serverError(w, r, "list reviews", err)
		return
	}
	reviews := []review{}
	sum := 0
	for rows.Next() {
		var rv review
		if err := rows.Scan(&rv.ID, &rv.Author, &rv.Rating, &rv.Body); err != nil {
			_ = rows.Close()
			s.serverError(w, r, "list reviews", err)
			return
		}
		sum += rv.Rating
		reviews = append(reviews, rv)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		s.serverError(w, r, "list reviews", err)
		return
	}
	if len(reviews) == 0 { // no reviews, or no product?
		if _, ok := s.readProduct(w, r, id); !ok {
			return
		}
	}
	avg := 0.0
	if len(reviews) > 0 {
		avg = math.Round(float64(sum)/float64(len(reviews))*100) / 100
	}
	writeJSON(w, http.StatusOK, struct {
		ProductID int64    `json:"product_id"`
		Reviews   []review `json:"reviews"`
		Average   float64  `json:"average"`
	}{id, reviews, avg})
}

// readLines reads a cart or an order's lines and their total.
func readLines(ctx context.Context, stmt *sql.Stmt, id int64) ([]line, int64, error) {
	rows, err := stmt.QueryContext(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	lines := []line{}
	var total int64
	for rows.Next() {
		var l line
		if err := rows.Scan(&l.ProductID, &l.Name, &l.Quantity, &l.PriceCents); err != nil {
			return nil, 0, errors.Join(err, rows.Close())
		}
		total += l.Quantity * l.PriceCents
		lines = append(lines, l)
	}
	return lines, total, errors.Join(rows.Err(), rows.Close())
}

type cartBody struct {
	CartID     int64  `json:"cart_id"` // one cart per user, identified by the user's id
	Items      []line `json:"items"`
	TotalCents int64  `json:"total_cents"`
}

// POST /api/cart/add {product_id, quantity} → 200 {cart_id, items, total_cents}
func (s *Shop) addToCart(w http.ResponseWriter, r *http.Request, uid int64) {
	var req struct {
		ProductID int64  `json:"product_id"`
		Quantity  *int64 `json:"quantity"` // default 1
	}
	if !decodeBody(w, r, &req) {
		return
	}
	qty := int64(1)
	if req.Quantity != nil {
		qty = *req.Quantity
	}
	if req.ProductID <= 0 || qty < 1 || qty > maxLineQuantity {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("want a positive product_id and a quantity from 1 to %d", maxLineQuantity))
		return
	}
	if s.faults.lock {
		s.auditTrail(uid, "cart add")
	}
	if _, ok := s.readProduct(w, r, req.ProductID); !ok {
		return
	}
	if _, err := s.st.cartUpsert.ExecContext(r.Context(), uid, req.ProductID, qty); err != nil {
		s.serverError(w, r, "add to cart", err)
		return
	}
	s.writeCart(w, r, uid)
}

// GET /api/cart → {cart_id, items, total_cents}
func (s *Shop) getCart(w http.ResponseWriter, r *http.Request, uid int64) {
	if s.faults.lock {
		s.auditTrail(uid, "cart view")
	}
	s.writeCart(w, r, uid)
}

func (s *Shop) writeCart(w http.ResponseWriter, r *http.Request, uid int64) {
	items, total, err := readLines(r.Context(), s.st.cart, uid)
	if err != nil {
		s.serverError(w, r, "read cart", err)
		return
	}
	writeJSON(w, http.StatusOK, cartBody{CartID: uid, Items: items, TotalCents: total})
}

// errConflict marks a checkout refused because of the cart's state; its
// message is shown to the client with 409.
type errConflict struct{ msg string }

func (e errConflict) Error() string { return e.msg }

// POST /api/checkout → 201 {order_id, total_cents, status}
func (s *Shop) checkout(w http.ResponseWriter, r *http.Request, uid int64) {
	if s.faults.lock {
		s.auditTrail(uid, "checkout")
	}
	orderID, total, err := s.placeOrder(r.Context(), uid)
	var conflict errConflict
	switch {
	case errors.As(err, &conflict):
		writeError(w, http.StatusConflict, conflict.msg)
		return
	case err != nil:
		s.serverError(w, r, "checkout", err)
		return
	}
	w.Header().Set("Location", "/api/orders/"+strconv.FormatInt(orderID, 10))
	writeJSON(w, http.StatusCreated, struct {
		OrderID    int64  `json:"order_id"`
		TotalCents int64  `json:"total_cents"`
		Status     string `json:"status"`
	}{orderID, total, orderPlaced})
}

const orderPlaced = "placed"

// placeOrder moves the user's cart into a new order and takes the stock, all
// in one transaction on the single write connection.
func (s *Shop) placeOrder(ctx context.Context, uid int64) (orderID, total int64, err error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, ignoreDone(tx.Rollback()))
		}
	}()
	type cartLine struct{ productID, qty, price, stock int64 }
	rows, err := tx.StmtContext(ctx, s.st.checkoutLines).QueryContext(ctx, uid)
	if err != nil {
		return 0, 0, err
	}
	var lines []cartLine
	for rows.Next() {
		var l cartLine
		if err := rows.Scan(&l.productID, &l.qty, &l.price, &l.stock); err != nil {
			return 0, 0, errors.Join(err, rows.Close())
		}
		lines = append(lines, l)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, 0, err
	}
	if len(lines) == 0 {
		return 0, 0, errConflict{"cart is empty"}
	}
	for _, l := range lines {
		if l.stock < l.qty {
			return 0, 0, errConflict{fmt.Sprintf("only %d of product %d in stock, cart wants %d", l.stock, l.productID, l.qty)}
		}
		total += l.qty * l.price
	}
	takeStock := tx.StmtContext(ctx, s.st.takeStock)
	for _, l := range lines {
		if _, err := takeStock.ExecContext(ctx, l.qty, l.productID, l.qty); err != nil {
			return 0, 0, err
		}
	}
	res, err := tx.StmtContext(ctx, s.st.insertOrder).ExecContext(ctx, uid, total, orderPlaced, time.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return 0, 0, err
	}
	if orderID, err = res.LastInsertId(); err != nil {
		return 0, 0, err
	}
	insItem := tx.StmtContext(ctx, s.st.insertOrderItem)
	for _, l := range lines {
		if _, err := insItem.ExecContext(ctx, orderID, l.productID, l.qty, l.price); err != nil {
			return 0, 0, err
		}
	}
	if _, err := tx.StmtContext(ctx, s.st.clearCart).ExecContext(ctx, uid); err != nil {
		return 0, 0, err
	}
	return orderID, total, tx.Commit()
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// GET /api/orders/{id} → {id, status, total_cents, created_at, items}.
// Another user's order answers 404, as if it did not exist.
func (s *Shop) getOrder(w http.ResponseWriter, r *http.Request, uid int64) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var o struct {
		ID         int64  `json:"id"`
		UserID     int64  `json:"user_id"`
		TotalCents int64  `json:"total_cents"`
		Status     string `json:"status"`
		CreatedAt  string `json:"created_at"`
		Items      []line `json:"items"`
	}
	err := s.st.order.QueryRowContext(r.Context(), id).Scan(&o.ID, &o.UserID, &o.TotalCents, &o.Status, &o.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && o.UserID != uid) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no order %d", id))
		return
	}
	if err != nil {
		s.serverError(w, r, "read order", err)
		return
	}
	if o.Items, _, err = readLines(r.Context(), s.st.orderItems, id); err != nil {
		s.serverError(w, r, "read order items", err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}
