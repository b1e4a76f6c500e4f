package dist

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths (the certificate is its own CA).
func selfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "coordinator"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key
}

// TestTLS: an agent that trusts the coordinator's CA runs its part over
// TLS; one that dials in clear text is not served.
func TestTLS(t *testing.T) {
	certFile, keyFile := selfSigned(t)
	serverTLS, err := ServerTLS(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	clientTLS, err := ClientTLS(certFile)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCoordinator(lis, Config{Agents: 1, Version: "v", Token: "t", TLS: serverTLS, Wait: 10 * time.Second, Lead: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		out *Outcome
		err error
	}
	ran := make(chan outcome, 1)
	go func() {
		out, err := c.Run(context.Background())
		ran <- outcome{out, err}
	}()
	plain := make(chan error, 1)
	go func() { // clear text against TLS: refused, in one line, within its wait
		_, err := RunAgent(context.Background(), AgentConfig{Coordinator: lis.Addr().String(), Token: "t", Version: "v", Index: -1, Wait: 2 * time.Second,
			Prepare: func(*Job) (Runner, error) { return nil, nil }})
		plain <- err
	}()
	if err := <-plain; err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("a clear-text agent against a TLS coordinator: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		r, err := RunAgent(context.Background(), AgentConfig{Coordinator: lis.Addr().String(), Token: "t", Version: "v", Index: -1, Wait: 5 * time.Second, TLS: clientTLS,
			Prepare: func(*Job) (Runner, error) {
				return func(ctx context.Context, start time.Time, on func(result.Window)) (*result.Run, error) {
					return &result.Run{Version: result.Version, Kind: "load", Plan: "p"}, nil
				}, nil
			}})
		if err == nil && r.Run == nil {
			err = context.Canceled
		}
		done <- err
	}()
	o := <-ran
	if o.err != nil {
		t.Fatal(o.err)
	}
	out := o.out
	if err := <-done; err != nil {
		t.Fatalf("agent over TLS: %v", err)
	}
	if out.Parts[0].Run == nil {
		t.Error("the agent's Run did not arrive over TLS")
	}
	if _, err := ServerTLS(certFile, ""); err == nil {
		t.Error("a certificate without its key was accepted")
	}
	if _, err := ClientTLS(keyFile); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a CA file without a certificate: %v", err)
	}
}
