// Command serialserver serves one request at a time, each holding the
// server for -hold: its capacity is 1/hold requests per second by
// construction, whatever the machine, which makes it a service whose
// horizontal scaling is known (N instances serve N/hold).
package main

import (
	"flag"
	"log"
	"net/http"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	hold := flag.Duration("hold", 20*time.Millisecond, "time each request holds the server")
	flag.Parse()
	var mu sync.Mutex
	var lastEnd time.Time // guarded by mu
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		// Each service ends exactly hold after the previous one while
		// the server is busy, so a late wake-up is made up by the next:
		// the capacity is 1/hold however late sleeps wake.
		start := time.Now()
		if start.Sub(lastEnd) < *hold {
			start = lastEnd
		}
		lastEnd = start.Add(*hold)
		time.Sleep(time.Until(lastEnd))
		mu.Unlock()
		w.Write([]byte("ok"))
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
