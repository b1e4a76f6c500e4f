package http

import (
	"bytes"
	"fmt"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
)

// hops sums the phases of a step's exchanges: the request and every
// redirect it followed.
type hops struct {
	dns, connect, tls time.Duration
	ttfb, recv        time.Duration
	in, out           int64
	n                 int           // exchanges: 1 + the redirects followed
	redirects         time.Duration // the followed redirects' exchanges
}

// add counts one exchange whose trace is t and which ended at end.
func (h *hops) add(t *trace, end time.Time) {
	h.dns += t.dns
	h.connect += t.connect
	h.tls += t.tls
	if !t.firstRead.IsZero() && !t.sent.IsZero() {
		// Time to first byte counts from when the request started going
		// out, after any dial, so the phases add up to the request's time.
		h.ttfb += t.firstRead.Sub(t.sent)
		h.recv += end.Sub(t.firstRead)
	}
	h.in += t.in
	h.out += t.out
}

func isRedirect(status int) bool {
	switch status {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// follow turns req into the request a redirect response asks for, as
// browsers do: 303 (and 301 or 302 after a POST) becomes a GET without a
// body; a different origin gets no Authorization or cookie header of the
// previous one. It reports false when the response names no Location.
func (c *Client) follow(d *dest, req *fasthttp.Request) (*dest, bool, error) {
	loc := c.resp.Header.Peek("Location")
	if len(loc) == 0 {
		return d, false, nil
	}
	u, err := resolveRedirect(d.origin, bytesString(c.buf), string(loc))
	if err != nil {
		return nil, false, err
	}
	next := d
	if origin := u.Scheme + "://" + u.Host; origin != d.origin {
		nd := newDest(u)
		next = &nd
		req.Header.Del("Authorization")
		req.Header.DelAllCookies()
		req.Header.SetHost(u.Host)
	}
	code := c.resp.StatusCode()
	if code == 303 && !req.Header.IsHead() || (code == 301 || code == 302) && req.Header.IsPost() {
		req.Header.SetMethod("GET")
		req.ResetBody()
		req.Header.Del("Content-Type")
		req.Header.SetContentLength(0)
	}
	c.buf = append(c.buf[:0], u.RequestURI()...)
	return next, true, nil
}

// hopTo names where a redirect led: the request's path, without its
// query (which may hold a token per request), prefixed by the origin when
// it left the step's own.
func hopTo(d, own *dest, uri []byte) string {
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if d.origin != own.origin {
		return d.origin + string(uri)
	}
	return string(uri)
}

// resolveRedirect resolves a Location header against the request's URL.
func resolveRedirect(origin, uri, location string) (*url.URL, error) {
	cur, err := url.Parse(origin + uri)
	if err != nil {
		return nil, fmt.Errorf("redirect from %s%s: %w", origin, uri, err)
	}
	ref, err := url.Parse(location)
	if err != nil {
		return nil, fmt.Errorf("redirect to %q: %w", location, err)
	}
	u := cur.ResolveReference(ref)
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("redirect to %q: not an http or https URL", location)
	}
	return u, nil
}
