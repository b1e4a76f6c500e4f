// Package demo is the demo shop: a small but real e-commerce JSON API over
// HTTP, backed by SQLite, that `stampede demo` load-tests in-process and
// `stampede demo serve` serves standalone. It exists so that every part of
// stampede (plans, the load engine, watchers, analysis, reports) can be shown
// against a system that behaves like a real one, including three planted
// faults that the analysis is expected to find.
//
// # Shape
//
// A [Shop] owns a SQLite database (modernc.org/sqlite, pure Go) and an
// [http.Handler] built on its own [http.ServeMux]; nothing is registered on
// package-level state. [New] opens the database, creates the schema and
// seeds deterministic data: the same [Options] always give the same
// products, reviews and users, and [UsersCSV] reproduces the seeded users'
// credentials so a plan's data feeder can log in as them. [Start] adds a
// listener and an [http.Server] around a Shop.
//
// # Endpoints
//
// JSON in and out; errors are {"error": "…"} with 400 for bad input, 401
// for a missing or unknown bearer token, 404 for an unknown id or path, 405
// (with Allow) for a wrong method and 409 when the cart's state forbids a
// checkout (empty, or not enough stock).
//
//	POST /api/auth/login        {email, password} → {token, user_id}
//	GET  /api/user/profile      (auth) → {id, email, name, orders}
//	GET  /api/products          ?page=1&limit=20(≤100)&q= → {products: [{id, name, price_cents, stock}], total, page, limit}
//	GET  /api/products/{id}     → {id, name, price_cents, stock}
//	GET  /api/products/{id}/reviews → {product_id, reviews: [{id, author, rating, body}], average}
//	POST /api/cart/add          (auth) {product_id, quantity (1–99, default 1)} → {cart_id, items, total_cents}
//	GET  /api/cart              (auth) → {cart_id, items: [{product_id, name, quantity, price_cents}], total_cents}
//	POST /api/checkout          (auth) → 201 {order_id, total_cents, status}, Location: /api/orders/{id}
//	GET  /api/orders/{id}       (auth, owner only; others get 404) → {id, user_id, total_cents, status, created_at, items}
//	GET  /api/reports/sales     ?rows=1000(≤262144) → {rows, total_cents, top_cents, checksum}: built whole in memory, 1 KiB a row (the memory stress variant's working set)
//	GET  /healthz               → {status: "ok"}
//	GET  /ws/stock              WebSocket (subprotocol stock.v1): {"subscribe": id} → {type: "stock", product_id, stock, seq} now and every 200 ms; {"ping": x} → {type: "pong", ping: x}
//	GET  /metrics               Prometheus text format
//	GET  /debug/pprof/…         net/http/pprof
//
// With [Options.GRPCAddr], [Start] also serves the catalogue over gRPC on
// its own listener ([Shop.NewGRPCServer]: shop.v1.Catalogue, GetProduct
// and the server stream ListProducts, described by the embedded
// catalogue.proto, with server reflection; messages are dynamic, so no
// generated code is needed).
//
// Each user has one cart, identified by the user's id; a cart line holds at
// most 99 of a product, so carts stay small however long a test adds to them.
// Checkout moves the whole cart into an order and takes the stock in one
// transaction.
//
// # Database and concurrency
//
// SQLite runs in WAL mode so readers never wait for the writer. The shop
// keeps two pools over the same file: a read-only pool of a few connections
// for queries, and a write pool of exactly one connection, so writers queue
// in database/sql (in Go, cancellable by the request context) instead of
// spinning on SQLITE_BUSY; write transactions begin IMMEDIATE so a
// transaction never has to upgrade its lock half-way. Statements are
// prepared once in [New]. Sessions live in memory, one token per user: a
// login returns the user's current token, so memory stays flat however many
// logins a long test performs. Products are never added or removed while the
// shop runs, so their count is read once.
//
// All Shop methods are safe for concurrent use, except [Shop.Close], which
// must be called once the handler no longer serves requests (for a [Server],
// [Server.Close] takes care of the order).
//
// # Planted faults
//
// Each fault is off unless named in [Options.Faults] (see [ParseFaults]).
// A fault never changes a response body; it only makes the shop slower or
// bigger in a way that a profiler or watcher shows under a clearly named
// function:
//
//   - "leak": every API request keeps an 8–16 KiB snapshot of itself in a
//     slice held by the Shop (allocated in (*Shop).rememberRequest); heap
//     in-use grows with load and is only given back by Close.
//   - "hotspot": the product listing ranks its page with scoreProducts,
//     1–3 ms of SHA-256 chaining and re-sorting per call (depending on the
//     CPU), which then dominates a CPU profile. Its only visible output is
//     an X-Shop-Featured response header.
//   - "lock": the cart, checkout and profile handlers go through
//     (*Shop).auditTrail, which holds one shop-wide mutex for about 2 ms, so
//     those endpoints serialize and their combined throughput flattens near
//     500 requests/s however many users there are. With this fault on, New
//     also turns on the runtime's mutex and block profiles
//     (runtime.SetMutexProfileFraction(5), runtime.SetBlockProfileRate(10000))
//     so that /debug/pprof/mutex and /debug/pprof/block show the holder and
//     the waiters; the settings are process-wide, so Close puts them back
//     (block profiling off, the mutex fraction to its previous value).
//
// # Observability
//
// GET /metrics serves what a real Go service serves, with client_golang:
// its Go collector with every runtime/metrics series (go_gc_cycles_*,
// go_gc_pauses_seconds, go_cpu_classes_*, …) beside the MemStats ones, its
// process collector, and shop_requests_total{route,code} and the
// shop_request_duration_seconds histogram, labelled by the route pattern
// (so label cardinality is fixed), from a registry of the shop's own. The
// request path touches only series resolved when the route was built
// (each status code's counter the first time it is seen). /debug/pprof/ serves the
// net/http/pprof handlers, registered explicitly on the shop's mux (importing
// net/http/pprof also registers them on http.DefaultServeMux, which the shop
// never serves).
package demo
