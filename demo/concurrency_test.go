package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestConcurrentCheckout runs the whole purchase chain for 50 users at once:
// every step must succeed, every order must hold exactly its user's cart,
// and the stock taken must add up.
func TestConcurrentCheckout(t *testing.T) {
	const users = 50
	shop, c := newTestShop(t, Options{Users: users})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	// User i buys (i%3)+1 of product (i%7)+1 and one of product 50, so
	// several users compete for the same rows.
	type result struct {
		orderID int64
		err     error
	}
	results := make([]result, users+1)
	var wg sync.WaitGroup
	for i := 1; i <= users; i++ {
		wg.Go(func() {
			id, err := purchase(ctx, c, i, []line{
				{ProductID: int64(i%7 + 1), Quantity: int64(i%3 + 1)},
				{ProductID: 50, Quantity: 1},
			})
			results[i] = result{id, err}
		})
	}
	wg.Wait()

	seen := map[int64]int{}
	taken := map[int64]int64{}
	for i := 1; i <= users; i++ {
		if err := results[i].err; err != nil {
			t.Errorf("user %d: %v", i, err)
			continue
		}
		if prev, dup := seen[results[i].orderID]; dup {
			t.Errorf("users %d and %d got the same order %d", prev, i, results[i].orderID)
		}
		seen[results[i].orderID] = i
		taken[int64(i%7+1)] += int64(i%3 + 1)
		taken[50]++
	}
	for id, n := range taken {
		var stock int64
		if err := shop.rdb.QueryRowContext(t.Context(), `SELECT stock FROM products WHERE id = ?`, id).Scan(&stock); err != nil {
			t.Fatal(err)
		}
		if want := seededProduct(int(id)).Stock - n; stock != want {
			t.Errorf("product %d stock = %d, want %d (seeded %d − %d sold)", id, stock, want, seededProduct(int(id)).Stock, n)
		}
	}
}

// purchase is one user's login → add… → checkout → fetch order, checked at
// every step. It returns the order id.
func purchase(ctx context.Context, c *client, user int, items []line) (int64, error) {
	step := func(code int, method, path, token string, body any, out any) error {
		r, err := c.do(ctx, method, path, token, body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		if r.code != code {
			return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, r.code, code, r.body)
		}
		if out != nil {
			return json.Unmarshal(r.body, out)
		}
		return nil
	}
	var session struct{ Token string }
	if err := step(http.StatusOK, "POST", "/api/auth/login", "", map[string]string{"email": userEmail(user), "password": userPassword(user)}, &session); err != nil {
		return 0, err
	}
	var wantTotal int64
	for _, it := range items {
		if err := step(http.StatusOK, "POST", "/api/cart/add", session.Token, map[string]int64{"product_id": it.ProductID, "quantity": it.Quantity}, nil); err != nil {
			return 0, err
		}
		wantTotal += it.Quantity * seededProduct(int(it.ProductID)).PriceCents
	}
	var o placed
	if err := step(http.StatusCreated, "POST", "/api/checkout", session.Token, nil, &o); err != nil {
		return 0, err
	}
	if o.TotalCents != wantTotal {
		return 0, fmt.Errorf("checkout total %d, want %d", o.TotalCents, wantTotal)
	}
	var got orderBody
	if err := step(http.StatusOK, "GET", fmt.Sprintf("/api/orders/%d", o.OrderID), session.Token, nil, &got); err != nil {
		return 0, err
	}
	if got.UserID != int64(user) || got.TotalCents != wantTotal || len(got.Items) != len(items) {
		return 0, fmt.Errorf("order %d = %+v, want user %d's %d lines totalling %d", o.OrderID, got, user, len(items), wantTotal)
	}
	return o.OrderID, nil
}
