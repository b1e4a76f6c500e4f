// Command cpuserver is a CPU-bound service for the stress variants'
// tests: every GET /work spends a fixed amount of computation (-work
// rounds of a xorshift generator, about 10 ms of CPU on a current core)
// and answers with its result. It listens on a loopback port and prints
// "cpuserver listening on http://ADDR" once it accepts requests; it runs
// until killed.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	work := flag.Int("work", 10_000_000, "rounds of computation a request (1 to 1e9)")
	flag.Parse()
	if *work < 1 || *work > 1e9 {
		fmt.Fprintf(os.Stderr, "cpuserver: -work %d: give 1 to 1e9 rounds\n", *work)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
		h := uint64(0x9e3779b97f4a7c15)
		for range *work {
			h ^= h << 13
			h ^= h >> 7
			h ^= h << 17
		}
		fmt.Fprintf(w, "%x\n", h)
	})
	fmt.Printf("cpuserver listening on http://%s\n", ln.Addr())
	log.Fatal(http.Serve(ln, nil))
}
