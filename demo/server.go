package demo

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
)

// Server is a [Shop] served over HTTP on its own listener. Its methods are
// safe for concurrent use.
type Server struct {
	shop *Shop
	srv  *http.Server
	url  string
	addr net.Addr // as bound

	grpc     *grpc.Server // nil unless Options.GRPCAddr was set
	grpcAddr string
	grpcDone chan struct{} // closed when the gRPC Serve has returned

	done     chan struct{} // closed when Serve has returned
	serveErr error         // Serve's result; read only after done is closed

	closeOnce sync.Once
	closeErr  error
}

// Start opens a shop as [New] does and serves it on addr ("127.0.0.1:0"
// picks a free port; [Server.URL] tells which). ctx bounds the start only:
// the server runs until [Server.Close].
func Start(ctx context.Context, addr string, o Options) (*Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot start demo shop server: %w", err)
	}
	shop, err := New(ctx, o)
	if err != nil {
		return nil, errors.Join(err, ln.Close())
	}
	s := &Server{
		shop: shop,
		url:  "http://" + dialAddr(ln.Addr()),
		addr: ln.Addr(),
		done: make(chan struct{}),
		srv: &http.Server{
			Handler:           shop.Handler(),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			// No WriteTimeout: /debug/pprof/profile and trace stream for as
			// long as the client asks.
		},
	}
	if o.Logf != nil {
		s.srv.ErrorLog = log.New(logfWriter(o.Logf), "demo shop: ", 0)
	}
	if o.GRPCAddr != "" {
		if err := s.startGRPC(ctx, o.GRPCAddr); err != nil {
			return nil, errors.Join(err, ln.Close(), shop.Close())
		}
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	return s, nil
}

// dialAddr turns a listening address into one a client can dial: an
// unspecified host (":8080", "[::]:8080") becomes the loopback address.
func dialAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := tcp.IP.String()
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

type logfWriter func(string, ...any)

func (f logfWriter) Write(p []byte) (int, error) {
	f("%s", p)
	return len(p), nil
}

// Addr is the address the server listens on, as bound: an unspecified
// host (":8080", "0.0.0.0:8080") means every interface of the machine,
// whatever [Server.URL] says.
func (s *Server) Addr() net.Addr { return s.addr }

// URL is the server's base URL, such as "http://127.0.0.1:41234". For a
// server listening on every interface it is the loopback address, which
// is one way in among several.
func (s *Server) URL() string { return s.url }

// Shop is the shop being served.
func (s *Server) Shop() *Shop { return s.shop }

// Close stops accepting connections, waits for requests in flight until ctx
// is done (then drops them), and closes the shop. Calling it again returns
// the first result.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		var errs []error
		s.stopGRPC(ctx)
		if err := s.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("demo shop server did not drain: %w", err), s.srv.Close())
		}
		<-s.done
		errs = append(errs, s.serveErr, s.shop.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// startGRPC serves the catalogue over gRPC on addr.
func (s *Server) startGRPC(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot start the demo shop's gRPC server: %w", err)
	}
	g, err := s.shop.NewGRPCServer()
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	s.grpc, s.grpcAddr, s.grpcDone = g, dialAddr(ln.Addr()), make(chan struct{})
	go func() {
		defer close(s.grpcDone)
		_ = g.Serve(ln) // returns when stopped
	}()
	return nil
}

// stopGRPC lets calls in flight finish until ctx is done, then drops them.
func (s *Server) stopGRPC(ctx context.Context) {
	if s.grpc == nil {
		return
	}
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Stop()
		<-stopped
	}
	<-s.grpcDone
}

// GRPCAddr is the host:port of the gRPC catalogue ("" unless
// Options.GRPCAddr was set).
func (s *Server) GRPCAddr() string { return s.grpcAddr }
