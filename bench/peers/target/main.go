// Command target is the loopback system under test for the generator
// benchmarks: a plain net/http server with a fast endpoint (/) and a slow
// one (/slow, 1 s), as the peers' published figures were measured against
// a Go target.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/pprof"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address (loopback only)")
	flag.Parse()
	mux := http.NewServeMux()
	body := []byte("hello, world\n")
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Second)
		w.Write(body)
	})
	// Profiles, for measuring what watching a target costs the generator.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
