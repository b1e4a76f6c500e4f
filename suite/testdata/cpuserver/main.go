// Command cpuserver is the system under test of the scalability phase's
// test: every request to /work does a fixed amount of CPU work, so its
// throughput depends on the cores it is given (GOMAXPROCS, taskset). Once
// listening it writes "procs=N" (its GOMAXPROCS) to the -ready file.
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	ready := flag.String("ready", "", "file to write once listening")
	rounds := flag.Int("rounds", 400, "SHA-256 rounds over 1 KiB per request")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *ready != "" {
		msg := fmt.Sprintf("procs=%d\n", runtime.GOMAXPROCS(0))
		if err := os.WriteFile(*ready, []byte(msg), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	buf := make([]byte, 1024)
	mux := http.NewServeMux()
	mux.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		b := append([]byte(nil), buf...)
		var sum [32]byte
		for range *rounds {
			sum = sha256.Sum256(b)
			copy(b, sum[:])
		}
		fmt.Fprintf(w, "%x", sum[:4])
	})
	log.Fatal(http.Serve(ln, mux))
}
