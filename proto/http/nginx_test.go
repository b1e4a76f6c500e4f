package http

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/tail"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
)

// nginxPath finds Debian's nginx, or "".
func nginxPath() string {
	for _, p := range []string{os.Getenv("STAMPEDE_NGINX"), "/usr/sbin/nginx"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	return ""
}

// startNginx runs nginx in the foreground as a child, serving HTTPS with
// HTTP/2 on a loopback port with the PKI's server certificate; it answers
// with the protocol it saw, sets a cookie at /login and redirects /old.
func startNginx(t *testing.T, p *testPKI) string {
	bin := nginxPath()
	if bin == "" {
		msg := "no nginx found (install Debian's nginx-light, or set STAMPEDE_NGINX): HTTP/2 was not checked against it"
		if os.Getenv("STAMPEDE_REQUIRE_NGINX") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr error;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen %[2]s ssl http2;
    ssl_certificate %[3]s;
    ssl_certificate_key %[4]s;
    location = /login { add_header Set-Cookie "sid=ngx; Path=/"; return 200 "welcome\n"; }
    location = /old { return 301 /new; }
    location / { return 200 "proto=$server_protocol cookie=$cookie_sid path=$uri\n"; }
  }
}
`, dir, addr, p.serverCertFile, p.serverKeyFile)
	cfgFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cfgFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &tail.Buffer{Max: 4096}
	cmd := exec.Command(bin, "-p", dir, "-c", cfgFile)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return "https://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %s: %s", addr, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// HTTP/2 and HTTP/1.1 against nginx: ALPN picks the version asked for;
// cookies and redirects work on both.
func TestNginx(t *testing.T) {
	p := newPKI(t)
	base := startNginx(t, p)
	for _, tc := range []struct {
		version int
		proto   string
	}{{1, "HTTP/1.1"}, {2, "HTTP/2.0"}} {
		t.Run(tc.proto, func(t *testing.T) {
			target := plan.Target{BaseURL: base, HTTP: tc.version, TLS: &plan.TLS{CAFile: p.caFile}}
			cfg := withTarget(t, target, Config{KeepAlive: true, HTTP2: tc.version == 2})
			h := newHarness(t, cfg)
			login := compileT(t, target, &plan.Step{Path: "/login", Check: &plan.Check{Status: []int{200}}}, cfg)
			next := compileT(t, target, &plan.Step{Path: "/old", Check: &plan.Check{Status: []int{200},
				BodyContains: fmt.Sprintf("proto=%s cookie=ngx path=/new", tc.proto)}}, cfg)
			for i := range 5 {
				for j, s := range h.run(login, next) {
					if s.Kind != metrics.KindNone {
						t.Fatalf("iteration %d step %d: kind %v status %d", i, j, s.Kind, s.Status)
					}
					if i == 0 && j == 0 && s.TLSUS == 0 {
						t.Fatal("no TLS handshake time")
					}
				}
			}
		})
	}
}
