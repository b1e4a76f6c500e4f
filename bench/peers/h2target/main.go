// Command h2target is the loopback system under test for the HTTP/2
// generator benchmark (bench/peers/h2.sh): a net/http server that speaks h2c
// with prior knowledge on one address and h2 over TLS (a self-signed
// certificate made at start) on another, with the same small answer as
// bench/peers/target. It prints the two URLs on its first line.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "h2c listen address (loopback only)")
	tlsAddr := flag.String("tls-addr", "127.0.0.1:0", "h2 over TLS listen address (loopback only)")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	tlsLn, err := net.Listen("tcp", *tlsAddr)
	if err != nil {
		log.Fatal(err)
	}
	body := []byte("hello, world\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	protos.SetUnencryptedHTTP2(true)
	cert, err := selfSigned()
	if err != nil {
		log.Fatal(err)
	}
	tlsSrv := &http.Server{Handler: h, Protocols: protos, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
	go func() { log.Fatal(tlsSrv.ServeTLS(tlsLn, "", "")) }()
	srv := &http.Server{Handler: h, Protocols: protos, ReadHeaderTimeout: 10 * time.Second}
	// The URLs, for the script that started us.
	fmt.Printf("http://%s/ https://%s/\n", ln.Addr(), tlsLn.Addr())
	log.Fatal(srv.Serve(ln))
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "h2target"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
