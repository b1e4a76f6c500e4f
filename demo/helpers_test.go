package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// newTestShop starts a shop behind a real loopback HTTP server; both are
// closed when the test ends.
func newTestShop(t testing.TB, o Options) (*Shop, *client) {
	t.Helper()
	if o.Users == 0 {
		o.Users = 100 // seeding is faster; tests that need more say so
	}
	o.Logf = t.Logf
	shop, err := New(t.Context(), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(shop.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := shop.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return shop, &client{t: t, base: srv.URL, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// client makes requests and decodes JSON answers, failing the test on
// transport errors (never on status codes: those are what tests check).
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value.
func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v\n%s", r.code, err, r.body)
	}
	return m
}

// decode decodes the body into v.
func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("cannot decode response %d: %v\n%s", r.code, err, r.body)
	}
}

// do sends a request; body is marshalled as JSON unless it is a string,
// which is sent verbatim.
func (c *client) do(ctx context.Context, method, path, token string, body any) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{code: res.StatusCode, header: res.Header, body: b}, nil
}

// must is do for the test goroutine: a transport error fails the test.
func (c *client) must(method, path, token string, body any) response {
	c.t.Helper()
	r, err := c.do(c.t.Context(), method, path, token, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// expect checks the status code and returns the response.
func (c *client) expect(code int, method, path, token string, body any) response {
	c.t.Helper()
	r := c.must(method, path, token, body)
	if r.code != code {
		c.t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, r.code, code, r.body)
	}
	return r
}

// login logs user i in and returns the token.
func (c *client) login(i int) string {
	c.t.Helper()
	var out struct {
		Token  string `json:"token"`
		UserID int64  `json:"user_id"`
	}
	c.expect(http.StatusOK, "POST", "/api/auth/login", "", map[string]string{
		"email": userEmail(i), "password": userPassword(i),
	}).decode(c.t, &out)
	if out.Token == "" || out.UserID != int64(i) {
		c.t.Fatalf("login user %d: got token %q, user_id %d", i, out.Token, out.UserID)
	}
	return out.Token
}
