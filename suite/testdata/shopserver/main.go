// Command shopserver serves the demo shop on a loopback address until
// SIGTERM, and prints "listening on URL" once it accepts requests: the
// shop as a process of its own, for tests whose watch must see it apart
// from the generator.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stampede-perf/stampede/demo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv, err := demo.Start(ctx, *addr, demo.Options{Products: 50, Users: 5})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening on", srv.URL())
	<-ctx.Done()
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Close(cctx)
}
