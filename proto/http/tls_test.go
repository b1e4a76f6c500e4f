package http

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
)

// testPKI is a certificate authority made for one test, a server
// certificate for stampede.test and 127.0.0.1, and a client certificate,
// all written as PEM files.
type testPKI struct {
	dir                       string
	caFile, certFile, keyFile string
	// the server's certificate and key as files, for servers in child
	// processes
	serverCertFile, serverKeyFile string
	serverCert                    tls.Certificate
	pool                          *x509.CertPool
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := key()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stampede test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(ca)
	issue := func(serial int64, usage x509.ExtKeyUsage, names []string, ips []net.IP) ([]byte, []byte) {
		k := key()
		tm := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage},
			KeyUsage: x509.KeyUsageDigitalSignature, DNSNames: names, IPAddresses: ips}
		der, err := x509.CreateCertificate(rand.Reader, tm, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	}
	write := func(name string, data []byte) string {
		path := filepath.Join(p.dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p.caFile = write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	sc, sk := issue(2, x509.ExtKeyUsageServerAuth, []string{"stampede.test"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	p.serverCertFile, p.serverKeyFile = write("server.pem", sc), write("server.key", sk)
	if p.serverCert, err = tls.X509KeyPair(sc, sk); err != nil {
		t.Fatal(err)
	}
	cc, ck := issue(3, x509.ExtKeyUsageClientAuth, nil, nil)
	p.certFile, p.keyFile = write("client.pem", cc), write("client.key", ck)
	return p
}

// server starts an HTTPS server with the PKI's certificate; it answers
// with the TLS facts of each request.
func (p *testPKI) server(t *testing.T, mutual bool, maxVersion uint16, h2 bool) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		fmt.Fprintf(w, "proto=%d resumed=%v client=%d", r.ProtoMajor, r.TLS.DidResume, len(r.TLS.PeerCertificates))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.serverCert}, MaxVersion: maxVersion}
	if mutual {
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		srv.TLS.ClientCAs = p.pool
	}
	srv.EnableHTTP2 = h2
	countConns(srv, &conns)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestTLSSettings(t *testing.T) {
	p := newPKI(t)
	plain, _ := p.server(t, false, 0, false)
	// TLS 1.2: a missing client certificate fails the handshake itself.
	mutual, _ := p.server(t, true, tls.VersionTLS12, false)
	old, _ := p.server(t, false, tls.VersionTLS12, false)
	port := func(s *httptest.Server) string { return s.URL[strings.LastIndex(s.URL, ":"):] }
	tests := []struct {
		name string
		base string
		tls  *plan.TLS
		kind metrics.ErrKind
		want string
	}{
		{"the system's authorities do not know the test CA", plain.URL, nil, metrics.KindTLS, ""},
		{"ca_file trusts it", plain.URL, &plan.TLS{CAFile: p.caFile}, metrics.KindNone, "client=0"},
		{"server_name is sent and checked", "https://localhost" + port(plain), &plan.TLS{CAFile: p.caFile, ServerName: "stampede.test"}, metrics.KindNone, ""},
		{"a wrong server_name fails", plain.URL, &plan.TLS{CAFile: p.caFile, ServerName: "other.test"}, metrics.KindTLS, ""},
		{"mTLS without a client certificate fails", mutual.URL, &plan.TLS{CAFile: p.caFile}, metrics.KindTLS, ""},
		{"mTLS with cert_file and key_file", mutual.URL, &plan.TLS{CAFile: p.caFile, CertFile: p.certFile, KeyFile: p.keyFile}, metrics.KindNone, "client=1"},
		{"min_version 1.3 refuses a 1.2 server", old.URL, &plan.TLS{CAFile: p.caFile, MinVersion: "1.3"}, metrics.KindTLS, ""},
		{"min_version 1.2 accepts it", old.URL, &plan.TLS{CAFile: p.caFile, MinVersion: "1.2"}, metrics.KindNone, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := plan.Target{BaseURL: tc.base, TLS: tc.tls}
			cfg := withTarget(t, target, Config{KeepAlive: true})
			h := newHarness(t, cfg)
			s := h.run(compileT(t, target, &plan.Step{Path: "/", Check: &plan.Check{BodyContains: tc.want}}, cfg))[0]
			if s.Kind != tc.kind {
				t.Fatalf("kind %v (status %d), want %v", s.Kind, s.Status, tc.kind)
			}
			if tc.kind == metrics.KindNone && s.TLSUS == 0 {
				t.Fatal("no TLS handshake time in the phases")
			}
		})
	}
}

// Sessions are resumed on new connections unless resumption is off.
func TestTLSResumption(t *testing.T) {
	p := newPKI(t)
	for _, tv := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		srv, conns := p.server(t, false, tv, false)
		for _, resume := range []bool{true, false} {
			t.Run(fmt.Sprintf("tls %x resumption %v", tv, resume), func(t *testing.T) {
				target := plan.Target{BaseURL: srv.URL, TLS: &plan.TLS{CAFile: p.caFile}}
				cfg := withTarget(t, target, Config{KeepAlive: false, NoResumption: !resume})
				h := newHarness(t, cfg)
				first := compileT(t, target, &plan.Step{Path: "/", Check: &plan.Check{BodyContains: "resumed=false"}}, cfg)
				want := fmt.Sprintf("resumed=%v", resume)
				later := compileT(t, target, &plan.Step{Path: "/", Check: &plan.Check{BodyContains: want}}, cfg)
				before := conns.Load()
				for i, st := range []*Step{first, later, later} {
					if s := h.run(st)[0]; s.Kind != metrics.KindNone || s.TLSUS == 0 {
						t.Fatalf("request %d: kind %v, TLS %d µs; want none and a handshake (%s)", i, s.Kind, s.TLSUS, want)
					}
				}
				if n := conns.Load() - before; n != 3 {
					t.Fatalf("%d connections, want one per request", n)
				}
			})
		}
	}
}

// forwardProxy is an HTTP proxy on loopback: absolute-form requests are
// forwarded to backend whatever host they name, CONNECT tunnels go to
// tunnelTo. It counts both and checks credentials when user is set.
func forwardProxy(t *testing.T, backend, tunnelTo, auth string) (string, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if auth != "" && r.Header.Get("Proxy-Authorization") != auth {
			w.WriteHeader(nethttp.StatusProxyAuthRequired)
			return
		}
		n.Add(1)
		if r.Method == nethttp.MethodConnect {
			up, err := net.Dial("tcp", tunnelTo)
			if err != nil {
				w.WriteHeader(502)
				return
			}
			conn, brw, err := w.(nethttp.Hijacker).Hijack()
			if err != nil {
				return
			}
			conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
			go func() { io.Copy(up, brw); up.Close() }()
			io.Copy(conn, up)
			conn.Close()
			return
		}
		if !r.URL.IsAbs() {
			w.WriteHeader(400)
			return
		}
		resp, err := nethttp.Get(backend + r.URL.Path + "?via=proxy&host=" + r.URL.Host)
		if err != nil {
			w.WriteHeader(502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func TestProxy(t *testing.T) {
	backend := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		fmt.Fprintf(w, "path=%s %s", r.URL.Path, r.URL.RawQuery)
	}))
	t.Cleanup(backend.Close)
	p := newPKI(t)
	tlsSrv, _ := p.server(t, false, 0, false)
	tunnelTo := strings.TrimPrefix(tlsSrv.URL, "https://")
	proxyURL, count := forwardProxy(t, backend.URL, tunnelTo, "Basic dTpw") // u:p
	withUser := strings.Replace(proxyURL, "http://", "http://u:p@", 1)
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	tests := []struct {
		name   string
		target plan.Target
		getenv func(string) string
		want   string
		via    int64
	}{
		{"target.proxy", plan.Target{BaseURL: "http://shop.test", Proxy: withUser}, nil, "path=/a via=proxy&host=shop.test", 1},
		{"HTTP_PROXY", plan.Target{BaseURL: "http://shop.test"}, env(map[string]string{"HTTP_PROXY": withUser}), "host=shop.test", 1},
		{"NO_PROXY skips it", plan.Target{BaseURL: backend.URL}, env(map[string]string{"HTTP_PROXY": withUser, "NO_PROXY": "*"}), "path=/a", 0},
		{"loopback is never proxied from the environment", plan.Target{BaseURL: backend.URL}, env(map[string]string{"http_proxy": withUser}), "path=/a", 0},
		{"HTTPS through a CONNECT tunnel", plan.Target{BaseURL: "https://stampede.test", TLS: &plan.TLS{CAFile: p.caFile}}, env(map[string]string{"HTTPS_PROXY": withUser}), "proto=1", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proxy, err := ProxyFunc(tc.target, tc.getenv)
			if err != nil {
				t.Fatal(err)
			}
			cfg := withTarget(t, tc.target, Config{KeepAlive: true, Proxy: proxy})
			h := newHarness(t, cfg)
			st := compileT(t, tc.target, &plan.Step{Path: "/a", Check: &plan.Check{Status: []int{200}, BodyContains: tc.want}}, cfg)
			before := count.Load()
			if s := h.run(st)[0]; s.Kind != metrics.KindNone {
				t.Fatalf("kind %v status %d", s.Kind, s.Status)
			}
			if got := count.Load() - before; got != tc.via {
				t.Fatalf("%d requests through the proxy, want %d", got, tc.via)
			}
		})
	}
	_, err := ProxyFunc(plan.Target{Proxy: "socks5://127.0.0.1:1"}, nil)
	if err == nil || !strings.Contains(err.Error(), "proxy: ") {
		t.Fatalf("a socks proxy: %v, want a proxy field error", err)
	}
	_ = bufio.NewReader
	_ = context.Background
}
