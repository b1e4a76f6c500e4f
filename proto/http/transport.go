package http

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	nethttp "net/http"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http/httpproxy"

	"github.com/stampede-perf/stampede/plan"
)

// TLSConfig builds the base TLS settings of target.tls: trusted
// authorities, client certificate, server name and minimum version. A
// problem is a *FieldError naming its field under target.tls.
func TLSConfig(t plan.Target) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: t.Insecure, MinVersion: tls.VersionTLS12}
	s := t.TLS
	if s == nil {
		return cfg, nil
	}
	if s.CAFile != "" {
		pem, err := readBounded(s.CAFile, 16<<20)
		if err != nil {
			return nil, &FieldError{"ca_file", err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &FieldError{"ca_file", fmt.Errorf("%s holds no PEM certificate", s.CAFile)}
		}
		cfg.RootCAs = pool
	}
	if s.CertFile != "" || s.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, &FieldError{"cert_file", fmt.Errorf("cannot load the client certificate %s and key %s: %w", s.CertFile, s.KeyFile, err)}
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	cfg.ServerName = s.ServerName
	switch s.MinVersion {
	case "1.0":
		cfg.MinVersion = tls.VersionTLS10
	case "1.1":
		cfg.MinVersion = tls.VersionTLS11
	case "1.3":
		cfg.MinVersion = tls.VersionTLS13
	}
	return cfg, nil
}

// tlsConfig is the configuration of one new TLS connection of the VU.
func (c *Client) tlsConfig(serverName string, protos ...string) *tls.Config {
	var cfg *tls.Config
	if c.cfg.TLS != nil {
		cfg = c.cfg.TLS.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if c.cfg.Insecure {
		cfg.InsecureSkipVerify = true
	}
	if cfg.ServerName == "" {
		cfg.ServerName = serverName
	}
	cfg.NextProtos = protos
	if !c.cfg.NoResumption {
		if c.sessions == nil {
			c.sessions = tls.NewLRUClientSessionCache(16)
		}
		cfg.ClientSessionCache = c.sessions
	}
	return cfg
}

// ProxyFunc chooses the proxy of each request: target.proxy when the plan
// sets one, else the standard HTTP_PROXY, HTTPS_PROXY and NO_PROXY
// variables (upper or lower case) read through getenv, which send nothing
// for loopback hosts. It returns nil when no proxy applies.
func ProxyFunc(t plan.Target, getenv func(string) string) (func(*url.URL) (*url.URL, error), error) {
	if t.Proxy != "" {
		u, err := url.Parse(t.Proxy)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return nil, &FieldError{"proxy", fmt.Errorf("%q is not an http:// proxy URL (e.g. http://127.0.0.1:3128)", t.Proxy)}
		}
		return func(*url.URL) (*url.URL, error) { return u, nil }, nil
	}
	if getenv == nil {
		return nil, nil
	}
	env := func(names ...string) string {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	cfg := httpproxy.Config{
		HTTPProxy:  env("HTTP_PROXY", "http_proxy"),
		HTTPSProxy: env("HTTPS_PROXY", "https_proxy"),
		NoProxy:    env("NO_PROXY", "no_proxy"),
	}
	if cfg.HTTPProxy == "" && cfg.HTTPSProxy == "" {
		return nil, nil
	}
	return cfg.ProxyFunc(), nil
}

// CheckH2CProxy refuses HTTP/2 over cleartext (h2c) to a target that a
// proxy would carry: net/http cannot speak h2c through a proxy.
func CheckH2CProxy(t plan.Target, cfg Config) error {
	if !cfg.HTTP2 || cfg.Proxy == nil {
		return nil
	}
	u, err := url.Parse(t.BaseURL)
	if err != nil || u.Scheme != "http" {
		return nil
	}
	if pu, err := cfg.Proxy(u); err == nil && pu != nil {
		from := "target.proxy"
		if t.Proxy == "" {
			from = "HTTP_PROXY"
		}
		return fmt.Errorf("HTTP/2 without TLS (h2c) cannot go through the proxy %s (from %s): use an https:// base_url, http: 1, or leave the host out of the proxy (NO_PROXY)", pu.Redacted(), from)
	}
	return nil
}

var errProxyScheme = errors.New("only http:// proxies are supported")

// proxyAddr is the host:port of a proxy URL.
func proxyAddr(u *url.URL) (string, error) {
	if u.Scheme != "http" {
		return "", fmt.Errorf("%s: %w", u.Redacted(), errProxyScheme)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "80"), nil
	}
	return u.Host, nil
}

// proxyAuthorization is the Proxy-Authorization value of a proxy URL
// with a user, or "".
func proxyAuthorization(u *url.URL) string {
	if u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+p))
}

// connectTunnel asks the proxy on conn for a tunnel to h (HTTPS through
// a proxy); TLS then runs inside it.
func connectTunnel(conn net.Conn, h *hostConn, deadline time.Time) error {
	conn.SetDeadline(deadline)
	msg := "CONNECT " + h.addr + " HTTP/1.1\r\nHost: " + h.addr + "\r\n"
	if h.proxyAuth != "" {
		msg += "Proxy-Authorization: " + h.proxyAuth + "\r\n"
	}
	if _, err := conn.Write([]byte(msg + "\r\n")); err != nil {
		return fmt.Errorf("proxy %s: %w", h.proxy, err)
	}
	br := bufio.NewReaderSize(conn, 1024)
	resp, err := nethttp.ReadResponse(br, &nethttp.Request{Method: nethttp.MethodConnect})
	if err != nil {
		return fmt.Errorf("proxy %s: %w", h.proxy, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("proxy %s refused CONNECT %s: %s", h.proxy, h.addr, resp.Status)
	}
	if br.Buffered() > 0 {
		return fmt.Errorf("proxy %s sent data before the tunnel was used", h.proxy)
	}
	return conn.SetDeadline(time.Time{})
}

// send runs one exchange of req to d, over HTTP/2 or the VU's HTTP/1.1
// connection, with the jar's cookies.
func (c *Client) send(d *dest, st *Step, req *fasthttp.Request, deadline time.Time, hop int) error {
	c.trace = trace{}
	if c.cfg.Cookies != plan.CookiesOff {
		c.cookies.apply(req, d.origin, c.buf, hop)
	}
	if c.cfg.HTTP2 {
		return c.sendH2(d, st, req, deadline)
	}
	h, err := c.host(d)
	if err != nil {
		return err
	}
	if h.proxy != "" && !h.tls {
		// A plain request through a proxy names its whole URL.
		c.uri = append(append(c.uri[:0], d.origin...), c.buf...)
		req.SetRequestURIBytes(c.uri)
		if h.proxyAuth != "" {
			req.Header.Set("Proxy-Authorization", h.proxyAuth)
		}
	} else {
		req.SetRequestURIBytes(c.buf)
	}
	return c.roundTrip(h, st, req, &c.resp, deadline)
}
