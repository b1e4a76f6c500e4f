package http

import (
	nethttp "net/http"
	"net/http/cookiejar"
	"net/url"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/publicsuffix"

	"github.com/stampede-perf/stampede/plan"
)

// cookies is a VU's cookie jar: net/http/cookiejar (domain, path, expiry
// and secure rules) with the public suffix list, so a cookie set for one
// site is never sent to another. The jar exists only once a response set
// a cookie, so a run whose server sets none pays nothing for it.
type cookies struct {
	jar  *cookiejar.Jar
	iter int64 // the iteration the jar was made in
	// set holds the Set-Cookie values of the response being read.
	set      []string
	onCookie func(key, value []byte)
	sent     []string // names of the cookies apply set on the request

}

// newIteration drops the jar of an earlier iteration unless the plan
// keeps cookies for the VU's lifetime.
func (k *cookies) newIteration(mode plan.CookieMode, iter int64) {
	if k.jar != nil && mode != plan.CookiesKeep && k.iter != iter {
		k.jar = nil
	}
}

// ensureJar makes the jar now if there is none, so that the lanes of a
// parallel group, which store and read cookies at once, share one.
func (k *cookies) ensureJar(iter int64) {
	if k.jar == nil {
		k.jar, _ = cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List}) // never fails
		k.iter = iter
	}
}

// store keeps the cookies resp sets for the request origin+uri.
func (k *cookies) store(resp *fasthttp.Response, origin string, uri []byte, iter int64) {
	if k.onCookie == nil {
		k.onCookie = func(_, value []byte) { k.set = append(k.set, string(value)) }
	}
	k.set = k.set[:0]
	resp.Header.VisitAllCookie(k.onCookie)
	if len(k.set) == 0 {
		return
	}
	var cs []*nethttp.Cookie
	for _, v := range k.set {
		if c, err := nethttp.ParseSetCookie(v); err == nil {
			cs = append(cs, c)
		}
	}
	u, err := url.Parse(origin + string(uri))
	if err != nil || len(cs) == 0 {
		return
	}
	k.ensureJar(iter)
	k.jar.SetCookies(u, cs)
}

// apply sets the jar's cookies for origin+uri on req, in place of those
// it set for an earlier hop of the same request (hop > 0), which may not
// belong to this URL.
func (k *cookies) apply(req *fasthttp.Request, origin string, uri []byte, hop int) {
	if hop > 0 {
		for _, name := range k.sent {
			req.Header.DelCookie(name)
		}
	}
	k.sent = k.sent[:0]
	if k.jar == nil {
		return
	}
	u, err := url.Parse(origin + string(uri))
	if err != nil {
		return
	}
	for _, c := range k.jar.Cookies(u) {
		req.Header.SetCookie(c.Name, c.Value)
		k.sent = append(k.sent, c.Name)
	}
}
