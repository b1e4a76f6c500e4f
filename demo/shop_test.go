package demo

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestLoginAndProfile(t *testing.T) {
	_, c := newTestShop(t, Options{})

	token := c.login(7)
	if again := c.login(7); again != token {
		t.Errorf("second login returned a new token %q, want the session's %q", again, token)
	}
	if other := c.login(8); other == token {
		t.Errorf("users 7 and 8 share token %q", token)
	}

	var p struct {
		ID     int64  `json:"id"`
		Email  string `json:"email"`
		Name   string `json:"name"`
		Orders *int64 `json:"orders"`
	}
	c.expect(http.StatusOK, "GET", "/api/user/profile", token, nil).decode(t, &p)
	if p.ID != 7 || p.Email != userEmail(7) || p.Name != userName(7) || p.Orders == nil || *p.Orders != 0 {
		t.Errorf("profile = %+v, want user 7 %s (%s) with 0 orders", p, userEmail(7), userName(7))
	}

	for _, tc := range []struct {
		why  string
		body any
		code int
	}{
		{"wrong password", map[string]string{"email": userEmail(7), "password": "nope"}, http.StatusUnauthorized},
		{"another user's password", map[string]string{"email": userEmail(7), "password": userPassword(8)}, http.StatusUnauthorized},
		{"unknown email", map[string]string{"email": "nobody@shop.example", "password": "x"}, http.StatusUnauthorized},
		{"missing password", map[string]string{"email": userEmail(7)}, http.StatusBadRequest},
		{"no body", nil, http.StatusBadRequest},
		{"not JSON", "email=a&password=b", http.StatusBadRequest},
		{"wrong JSON type", `{"email": 7, "password": "x"}`, http.StatusBadRequest},
		{"two JSON values", `{"email":"a","password":"b"} {}`, http.StatusBadRequest},
	} {
		t.Run(tc.why, func(t *testing.T) {
			r := c.expect(tc.code, "POST", "/api/auth/login", "", tc.body)
			if msg, _ := r.json(t)["error"].(string); msg == "" {
				t.Errorf("error body has no message: %s", r.body)
			}
		})
	}

	for _, tc := range []struct {
		why, header string
	}{
		{"no Authorization header", ""},
		{"not a bearer token", "Basic dXNlcjpwYXNz"},
		{"empty bearer token", "Bearer "},
		{"unknown token", "Bearer 0123456789abcdef0123456789abcdef"},
	} {
		t.Run(tc.why, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", c.base+"/api/user/profile", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			res, err := c.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("status %d, WWW-Authenticate %q; want 401 with a Bearer challenge", res.StatusCode, res.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

type listing struct {
	Products []product `json:"products"`
	Total    int64     `json:"total"`
	Page     int       `json:"page"`
	Limit    int       `json:"limit"`
}

func TestProducts(t *testing.T) {
	_, c := newTestShop(t, Options{})

	ids := func(l listing) []int64 {
		var out []int64
		for _, p := range l.Products {
			out = append(out, p.ID)
		}
		return out
	}
	var l listing
	c.expect(http.StatusOK, "GET", "/api/products", "", nil).decode(t, &l)
	if l.Total != DefaultProducts || len(l.Products) != defaultLimit || l.Products[0] != seededProduct(1) || l.Page != 1 {
		t.Errorf("default listing: total %d, %d products, first %+v, page %d; want %d, %d, %+v, 1",
			l.Total, len(l.Products), l.Products[0], l.Page, DefaultProducts, defaultLimit, seededProduct(1))
	}
	l = listing{}
	c.expect(http.StatusOK, "GET", "/api/products?page=3&limit=5", "", nil).decode(t, &l)
	if got := fmt.Sprint(ids(l)); got != "[11 12 13 14 15]" {
		t.Errorf("page 3 of 5: ids %s, want [11 12 13 14 15]", got)
	}
	l = listing{}
	c.expect(http.StatusOK, "GET", "/api/products?page=1000", "", nil).decode(t, &l)
	if len(l.Products) != 0 || l.Total != DefaultProducts {
		t.Errorf("page past the end: %d products, total %d; want none of %d", len(l.Products), l.Total, DefaultProducts)
	}

	// Search: case-insensitive substring; the oracle is the seed itself.
	var want []int64
	for i := 1; i <= DefaultProducts; i++ {
		if strings.Contains(strings.ToLower(seededProduct(i).Name), "lamp") {
			want = append(want, int64(i))
		}
	}
	l = listing{}
	c.expect(http.StatusOK, "GET", "/api/products?q=LAMP&limit=100", "", nil).decode(t, &l)
	if l.Total != int64(len(want)) || fmt.Sprint(ids(l)) != fmt.Sprint(want) || len(want) == 0 {
		t.Errorf("q=LAMP: total %d ids %v, want %d ids %v", l.Total, ids(l), len(want), want)
	}
	l = listing{}
	c.expect(http.StatusOK, "GET", "/api/products?q=%25", "", nil).decode(t, &l)
	if l.Total != 0 {
		t.Errorf("q=%% matched %d products; the wildcard must match literally", l.Total)
	}

	for _, q := range []string{"page=0", "page=x", "limit=0", "limit=101", "limit=-1", "q=" + strings.Repeat("a", maxQueryLen+1)} {
		c.expect(http.StatusBadRequest, "GET", "/api/products?"+q, "", nil)
	}

	var p product
	c.expect(http.StatusOK, "GET", "/api/products/42", "", nil).decode(t, &p)
	if p != seededProduct(42) {
		t.Errorf("product 42 = %+v, want %+v", p, seededProduct(42))
	}
	c.expect(http.StatusNotFound, "GET", "/api/products/9999", "", nil)
	c.expect(http.StatusBadRequest, "GET", "/api/products/abc", "", nil)
	c.expect(http.StatusBadRequest, "GET", "/api/products/0", "", nil)
}

func TestReviews(t *testing.T) {
	_, c := newTestShop(t, Options{})

	// Find a product with reviews and one without, from the seed.
	withReviews, without := 0, 0
	for i := 1; i <= DefaultProducts && (withReviews == 0 || without == 0); i++ {
		if len(seededReviews(i, 100)) > 0 {
			withReviews = cmpOr(withReviews, i)
		} else {
			without = cmpOr(without, i)
		}
	}
	if withReviews == 0 || without == 0 {
		t.Fatal("the seed has no product with reviews or none without")
	}

	var got struct {
		ProductID int64    `json:"product_id"`
		Reviews   []review `json:"reviews"`
		Average   float64  `json:"average"`
	}
	c.expect(http.StatusOK, "GET", fmt.Sprintf("/api/products/%d/reviews", withReviews), "", nil).decode(t, &got)
	seeded := seededReviews(withReviews, 100)
	sum := 0
	for _, r := range seeded {
		sum += r.rating
	}
	wantAvg := math.Round(float64(sum)/float64(len(seeded))*100) / 100
	if len(got.Reviews) != len(seeded) || got.Average != wantAvg || got.ProductID != int64(withReviews) {
		t.Errorf("product %d: %d reviews, average %v; want %d, %v", withReviews, len(got.Reviews), got.Average, len(seeded), wantAvg)
	}
	for i, r := range got.Reviews {
		if r.Rating != seeded[i].rating || r.Body != seeded[i].body || r.Author != userName(seeded[i].userID) {
			t.Errorf("review %d = %+v, want %+v by %s", i, r, seeded[i], userName(seeded[i].userID))
		}
	}

	r := c.expect(http.StatusOK, "GET", fmt.Sprintf("/api/products/%d/reviews", without), "", nil)
	if m := r.json(t); fmt.Sprint(m["reviews"]) != "[]" || m["average"] != 0.0 {
		t.Errorf("product %d without reviews: %s; want an empty list and average 0", without, r.body)
	}
	c.expect(http.StatusNotFound, "GET", "/api/products/9999/reviews", "", nil)
	c.expect(http.StatusBadRequest, "GET", "/api/products/x/reviews", "", nil)
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func TestCart(t *testing.T) {
	_, c := newTestShop(t, Options{})
	token := c.login(3)

	var cart cartBody
	c.expect(http.StatusOK, "GET", "/api/cart", token, nil).decode(t, &cart)
	if len(cart.Items) != 0 || cart.TotalCents != 0 || cart.CartID != 3 {
		t.Errorf("new cart = %+v, want empty cart 3", cart)
	}

	c.expect(http.StatusOK, "POST", "/api/cart/add", token, map[string]int{"product_id": 5, "quantity": 2})
	c.expect(http.StatusOK, "POST", "/api/cart/add", token, map[string]int{"product_id": 9}) // quantity defaults to 1
	cart = cartBody{}
	c.expect(http.StatusOK, "POST", "/api/cart/add", token, map[string]int{"product_id": 5, "quantity": 1}).decode(t, &cart)
	p5, p9 := seededProduct(5), seededProduct(9)
	want := []line{
		{ProductID: 5, Name: p5.Name, Quantity: 3, PriceCents: p5.PriceCents},
		{ProductID: 9, Name: p9.Name, Quantity: 1, PriceCents: p9.PriceCents},
	}
	wantTotal := 3*p5.PriceCents + p9.PriceCents
	if fmt.Sprint(cart.Items) != fmt.Sprint(want) || cart.TotalCents != wantTotal {
		t.Errorf("cart after adds = %+v, want items %+v total %d", cart, want, wantTotal)
	}
	cart = cartBody{}
	c.expect(http.StatusOK, "GET", "/api/cart", token, nil).decode(t, &cart)
	if fmt.Sprint(cart.Items) != fmt.Sprint(want) || cart.TotalCents != wantTotal {
		t.Errorf("GET /api/cart = %+v, want items %+v total %d", cart, want, wantTotal)
	}
	cart = cartBody{}
	c.expect(http.StatusOK, "GET", "/api/cart", c.login(4), nil).decode(t, &cart)
	if len(cart.Items) != 0 {
		t.Errorf("user 4 sees user 3's cart: %+v", cart)
	}

	// A line is capped, so a long test cannot grow it without bound.
	for range 2 {
		c.expect(http.StatusOK, "POST", "/api/cart/add", token, map[string]int{"product_id": 7, "quantity": maxLineQuantity})
	}
	cart = cartBody{}
	c.expect(http.StatusOK, "GET", "/api/cart", token, nil).decode(t, &cart)
	for _, it := range cart.Items {
		if it.ProductID == 7 && it.Quantity != maxLineQuantity {
			t.Errorf("line 7 quantity %d, want the cap %d", it.Quantity, maxLineQuantity)
		}
	}

	for _, tc := range []struct {
		why  string
		body any
		code int
	}{
		{"unknown product", map[string]int{"product_id": 9999}, http.StatusNotFound},
		{"zero quantity", map[string]int{"product_id": 1, "quantity": 0}, http.StatusBadRequest},
		{"negative quantity", map[string]int{"product_id": 1, "quantity": -2}, http.StatusBadRequest},
		{"quantity over the cap", map[string]int{"product_id": 1, "quantity": maxLineQuantity + 1}, http.StatusBadRequest},
		{"missing product_id", map[string]int{"quantity": 1}, http.StatusBadRequest},
		{"product_id as a string", `{"product_id": "5"}`, http.StatusBadRequest},
		{"not JSON", "product_id=5", http.StatusBadRequest},
	} {
		t.Run(tc.why, func(t *testing.T) {
			c.expect(tc.code, "POST", "/api/cart/add", token, tc.body)
		})
	}
	c.expect(http.StatusUnauthorized, "POST", "/api/cart/add", "", map[string]int{"product_id": 1})
	c.expect(http.StatusUnauthorized, "GET", "/api/cart", "bogus", nil)
}

type placed struct {
	OrderID    int64  `json:"order_id"`
	TotalCents int64  `json:"total_cents"`
	Status     string `json:"status"`
}

type orderBody struct {
	ID         int64  `json:"id"`
	UserID     int64  `json:"user_id"`
	TotalCents int64  `json:"total_cents"`
	Status     string `json:"status"`
	CreatedAt  string `json:"created_at"`
	Items      []line `json:"items"`
}

func TestCheckoutAndOrders(t *testing.T) {
	shop, c := newTestShop(t, Options{})
	token := c.login(10)

	r := c.expect(http.StatusConflict, "POST", "/api/checkout", token, nil)
	if msg, _ := r.json(t)["error"].(string); !strings.Contains(msg, "empty") {
		t.Errorf("empty-cart checkout error %q, want it to say the cart is empty", msg)
	}
	c.expect(http.StatusUnauthorized, "POST", "/api/checkout", "", nil)

	c.expect(http.StatusOK, "POST", "/api/cart/add", token, map[string]int{"product_id": 12, "quantity": 2})
	c.expect(http.StatusOK, "POST", "/api/cart/add", token, map[string]int{"product_id": 13, "quantity": 1})
	var o placed
	r = c.expect(http.StatusCreated, "POST", "/api/checkout", token, nil)
	r.decode(t, &o)
	p12, p13 := seededProduct(12), seededProduct(13)
	wantTotal := 2*p12.PriceCents + p13.PriceCents
	if o.OrderID <= 0 || o.TotalCents != wantTotal || o.Status != orderPlaced {
		t.Errorf("checkout = %+v, want an order of %d cents, status %q", o, wantTotal, orderPlaced)
	}
	if loc := r.header.Get("Location"); loc != fmt.Sprintf("/api/orders/%d", o.OrderID) {
		t.Errorf("Location %q, want /api/orders/%d", loc, o.OrderID)
	}

	var cart cartBody
	c.expect(http.StatusOK, "GET", "/api/cart", token, nil).decode(t, &cart)
	if len(cart.Items) != 0 {
		t.Errorf("cart after checkout = %+v, want empty", cart)
	}
	var p product
	c.expect(http.StatusOK, "GET", "/api/products/12", "", nil).decode(t, &p)
	if p.Stock != p12.Stock-2 {
		t.Errorf("stock of product 12 = %d, want %d", p.Stock, p12.Stock-2)
	}

	var got orderBody
	c.expect(http.StatusOK, "GET", fmt.Sprintf("/api/orders/%d", o.OrderID), token, nil).decode(t, &got)
	want := []line{
		{ProductID: 12, Name: p12.Name, Quantity: 2, PriceCents: p12.PriceCents},
		{ProductID: 13, Name: p13.Name, Quantity: 1, PriceCents: p13.PriceCents},
	}
	if got.ID != o.OrderID || got.UserID != 10 || got.TotalCents != wantTotal || got.Status != orderPlaced ||
		got.CreatedAt == "" || fmt.Sprint(got.Items) != fmt.Sprint(want) {
		t.Errorf("order = %+v, want order %d of user 10 with %+v", got, o.OrderID, want)
	}
	var prof struct{ Orders int64 }
	c.expect(http.StatusOK, "GET", "/api/user/profile", token, nil).decode(t, &prof)
	if prof.Orders != 1 {
		t.Errorf("profile orders = %d, want 1", prof.Orders)
	}

	// Only the owner sees an order; to anyone else it does not exist.
	c.expect(http.StatusNotFound, "GET", fmt.Sprintf("/api/orders/%d", o.OrderID), c.login(11), nil)
	c.expect(http.StatusNotFound, "GET", "/api/orders/999999", token, nil)
	c.expect(http.StatusBadRequest, "GET", "/api/orders/x", token, nil)
	c.expect(http.StatusUnauthorized, "GET", fmt.Sprintf("/api/orders/%d", o.OrderID), "", nil)

	// Not enough stock: 409, and nothing changes.
	if _, err := shop.wdb.ExecContext(t.Context(), `UPDATE products SET stock = 1 WHERE id = 20`); err != nil {
		t.Fatal(err)
	}
	c.expect(http.StatusOK, "POST", "/api/cart/add", token, map[string]int{"product_id": 20, "quantity": 2})
	c.expect(http.StatusConflict, "POST", "/api/checkout", token, nil)
	cart = cartBody{}
	c.expect(http.StatusOK, "GET", "/api/cart", token, nil).decode(t, &cart)
	p = product{}
	c.expect(http.StatusOK, "GET", "/api/products/20", "", nil).decode(t, &p)
	if len(cart.Items) != 1 || p.Stock != 1 {
		t.Errorf("after a refused checkout: cart %+v, stock %d; want the cart kept and stock 1", cart, p.Stock)
	}
}

func TestRouting(t *testing.T) {
	_, c := newTestShop(t, Options{})
	for _, tc := range []struct {
		why, method, path string
		code              int
		allow             string
	}{
		{"listing is read-only", "POST", "/api/products", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"login is POST only", "GET", "/api/auth/login", http.StatusMethodNotAllowed, "POST"},
		{"orders cannot be deleted", "DELETE", "/api/orders/1", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"checkout is POST only", "GET", "/api/checkout", http.StatusMethodNotAllowed, "POST"},
		{"metrics are GET only", "POST", "/metrics", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"unknown path", "GET", "/api/nothing", http.StatusNotFound, ""},
		{"no id", "GET", "/api/products/", http.StatusNotFound, ""},
		{"root", "GET", "/", http.StatusNotFound, ""},
	} {
		t.Run(tc.why, func(t *testing.T) {
			r := c.expect(tc.code, tc.method, tc.path, "", nil)
			if got := r.header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if msg, _ := r.json(t)["error"].(string); msg == "" {
				t.Errorf("no JSON error message: %s", r.body)
			}
		})
	}
}

func TestHealthzMetricsPprof(t *testing.T) {
	_, c := newTestShop(t, Options{})
	c.expect(http.StatusOK, "GET", "/healthz", "", nil)
	for range 3 {
		c.expect(http.StatusOK, "GET", "/api/products/1", "", nil)
	}
	c.expect(http.StatusNotFound, "GET", "/api/products/9999", "", nil)

	r := c.expect(http.StatusOK, "GET", "/metrics", "", nil)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q, want the Prometheus text format", ct)
	}
	text := string(r.body)
	for _, want := range []string{
		`shop_requests_total{code="200",route="GET /api/products/{id}"} 3` + "\n",
		`shop_requests_total{code="404",route="GET /api/products/{id}"} 1` + "\n",
		`shop_requests_total{code="200",route="GET /healthz"} 1` + "\n",
		`shop_request_duration_seconds_bucket{route="GET /api/products/{id}",le="+Inf"} 4` + "\n",
		`shop_request_duration_seconds_count{route="GET /api/products/{id}"} 4` + "\n",
		"# TYPE shop_request_duration_seconds histogram\n",
		"\ngo_goroutines ",
		"\ngo_memstats_heap_inuse_bytes ",
		"\ngo_info{version=",
		"\nprocess_start_time_seconds ",
		// runtime/metrics, as client_golang's Go collector names them
		"\ngo_gc_cycles_total_gc_cycles_total ",
		"\ngo_gc_pauses_seconds_bucket{",
		"\ngo_cpu_classes_gc_total_cpu_seconds_total ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(text, `route="GET /metrics"`) {
		t.Error("/metrics counts its own scrapes as shop traffic")
	}
	checkExposition(t, text)

	c.expect(http.StatusOK, "GET", "/debug/pprof/", "", nil)
	if r := c.expect(http.StatusOK, "GET", "/debug/pprof/heap?debug=1", "", nil); !strings.Contains(string(r.body), "heap profile") {
		t.Errorf("/debug/pprof/heap?debug=1 is not a heap profile: %.80s", r.body)
	}
	c.expect(http.StatusOK, "GET", "/debug/pprof/cmdline", "", nil)
	c.expect(http.StatusOK, "POST", "/debug/pprof/symbol", "", "")
}

// checkExposition reads the text format with Prometheus's own parser:
// every family parses, counters are not negative, and histogram buckets
// are cumulative up to the count.
func checkExposition(t *testing.T, text string) {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v", err)
	}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil && (c.GetValue() < 0 || math.IsNaN(c.GetValue())) {
				t.Errorf("%s: negative or NaN counter %v", name, c.GetValue())
			}
			h := m.GetHistogram()
			if h == nil {
				continue
			}
			var last uint64
			for _, b := range h.GetBucket() {
				if b.GetCumulativeCount() < last {
					t.Errorf("%s: bucket le=%g is below the one before", name, b.GetUpperBound())
				}
				last = b.GetCumulativeCount()
			}
			if last > h.GetSampleCount() {
				t.Errorf("%s: buckets count %d of %d", name, last, h.GetSampleCount())
			}
		}
	}
}

func TestParseFaults(t *testing.T) {
	for _, tc := range []struct {
		why, in string
		want    string
		wantErr string
	}{
		{"empty means none", "", "[]", ""},
		{"all three", "leak,hotspot,lock", "[leak hotspot lock]", ""},
		{"spaces and empties are ignored", " lock , ,leak ", "[lock leak]", ""},
		{"duplicates are dropped", "leak,leak", "[leak]", ""},
		{"unknown name", "leak,slow", "", `unknown fault "slow" (valid faults: leak, hotspot, lock)`},
		{"names are case-sensitive", "Leak", "", `unknown fault "Leak"`},
	} {
		t.Run(tc.why, func(t *testing.T) {
			got, err := ParseFaults(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrUnknownFault) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("ParseFaults(%q) error = %v, want one line containing %q wrapping ErrUnknownFault", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != tc.want && !(tc.want == "[]" && got == nil) {
				t.Errorf("ParseFaults(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestNewOptions(t *testing.T) {
	if _, err := New(t.Context(), Options{Faults: []string{"cpu"}}); !errors.Is(err, ErrUnknownFault) {
		t.Errorf("New with an unknown fault: err = %v, want ErrUnknownFault", err)
	}
	if _, err := New(t.Context(), Options{Users: -1}); err == nil {
		t.Error("New with -1 users succeeded")
	}

	// The temporary database goes away with the shop.
	s, err := New(t.Context(), Options{Users: 5, Products: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := s.tmpDir
	if s.products != 3 {
		t.Errorf("products = %d, want 3", s.products)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory %s still exists after Close (stat: %v)", dir, err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shop.db")
	s1, c1 := newTestShop(t, Options{DBPath: path, Users: 20, Products: 10})
	tok := c1.login(2)
	c1.expect(http.StatusOK, "POST", "/api/cart/add", tok, map[string]int{"product_id": 4})
	var o placed
	c1.expect(http.StatusCreated, "POST", "/api/checkout", tok, nil).decode(t, &o)
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Close removed a database the caller named: %v", err)
	}

	// Reopened with other sizes: the existing data is kept as it is.
	s2, c2 := newTestShop(t, Options{DBPath: path, Users: 50, Products: 99})
	if s2.products != 10 {
		t.Errorf("reopened shop has %d products, want the existing 10", s2.products)
	}
	tok = c2.login(2) // sessions are per process: log in again
	c2.expect(http.StatusOK, "GET", fmt.Sprintf("/api/orders/%d", o.OrderID), tok, nil)
}
