package ws

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/stampede-perf/stampede/metrics"
)

// queueLen is how many received messages wait for a step; past it the
// reader stops reading, and the server's writes back up into TCP.
const queueLen = 64

var errTimeout = errors.New("timeout")

// Client is one VU's WebSocket state: its connection, if open, and the
// goroutine reading it. Only the VU uses it, except Interrupt and Close,
// which the engine may call from another goroutine at a hard stop.
type Client struct {
	http *http.Client // made on the first connect
	buf  []byte

	conn   *websocket.Conn
	msgs   chan []byte   // the reader's queue; closed when it stops
	done   chan struct{} // closed to stop the reader
	reader sync.WaitGroup
	iter   int64 // the VU iteration that opened conn

	// Written by the reader, read by the VU.
	rerr atomic.Pointer[error] // why the reader stopped
	gotN atomic.Int64          // messages received
	gotB atomic.Int64          // bytes received
	// reported and reportedB are what earlier steps counted already.
	reported, reportedB int64

	mu      sync.Mutex      // guards current, for Interrupt
	current *websocket.Conn // conn, as seen from other goroutines
}

// NewClient returns a VU's WebSocket state; it opens nothing.
func NewClient() *Client { return &Client{} }

func (cl *Client) dial(ctx context.Context, u string, h http.Header, protos []string, cfg Config) (status int, err error) {
	if cl.http == nil {
		tr := &http.Transport{TLSClientConfig: cfg.TLS, Proxy: nil, ForceAttemptHTTP2: false}
		cl.http = &http.Client{Transport: tr}
	}
	c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: cl.http, HTTPHeader: h, Subprotocols: protos})
	if resp != nil {
		status = resp.StatusCode
		if resp.Body != nil {
			resp.Body.Close()
		}
	}
	if err != nil {
		return status, err
	}
	if cfg.MaxMessage > 0 {
		c.SetReadLimit(cfg.MaxMessage)
	}
	cl.conn = c
	cl.msgs = make(chan []byte, queueLen)
	cl.done = make(chan struct{})
	cl.rerr.Store(nil)
	cl.gotN.Store(0)
	cl.gotB.Store(0)
	cl.reported, cl.reportedB = 0, 0
	cl.mu.Lock()
	cl.current = c
	cl.mu.Unlock()
	cl.reader.Add(1)
	go cl.read(c, cl.msgs, cl.done)
	return status, nil
}

// read queues every message of c until c fails or done is closed.
func (cl *Client) read(c *websocket.Conn, msgs chan<- []byte, done <-chan struct{}) {
	defer cl.reader.Done()
	defer close(msgs)
	// No deadline: cancelling a Read closes the connection, so the reader
	// ends when the connection does (closeConn, Interrupt).
	for {
		_, b, err := c.Read(context.Background())
		if err != nil {
			cl.rerr.Store(&err)
			return
		}
		cl.gotN.Add(1)
		cl.gotB.Add(int64(len(b)))
		select {
		case msgs <- b:
		case <-done:
			return
		}
	}
}

// readErr is why the reader stopped, nil while it runs.
func (cl *Client) readErr() error {
	if p := cl.rerr.Load(); p != nil {
		return *p
	}
	return nil
}

func (cl *Client) write(ctx context.Context, b []byte, binary bool, timeout time.Duration) error {
	typ := websocket.MessageText
	if binary {
		typ = websocket.MessageBinary
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return cl.conn.Write(wctx, typ, b)
}

// drain drops the messages already queued.
func (cl *Client) drain() {
	for {
		select {
		case _, ok := <-cl.msgs:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// await returns the first queued or arriving message that match accepts,
// skipping the others, errTimeout after timeout, or the reader's error.
func (cl *Client) await(ctx context.Context, timeout time.Duration, match func([]byte) bool) ([]byte, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
			return nil, errTimeout
		case b, ok := <-cl.msgs:
			if !ok {
				err := cl.readErr()
				if err == nil {
					err = errors.New("connection closed")
				}
				return nil, err
			}
			if match(b) {
				return b, nil
			}
		}
	}
}

// report puts the messages and bytes received since the last report into
// s.
func (cl *Client) report(s *metrics.Sample) {
	n, b := cl.gotN.Load(), cl.gotB.Load()
	s.MsgsIn += metrics.Clamp32(n - cl.reported)
	s.BytesIn += metrics.Clamp32(b - cl.reportedB)
	cl.reported, cl.reportedB = n, b
}

// closeConn closes the open connection, if any, with code (waiting for
// the close handshake up to coder/websocket's limit of 5 s), and stops its
// reader.
func (cl *Client) closeConn(code websocket.StatusCode) {
	if cl.conn == nil {
		return
	}
	c := cl.conn
	if cl.readErr() != nil {
		c.CloseNow() // the connection has ended already
	} else {
		c.Close(code, "")
	}
	close(cl.done)
	cl.reader.Wait()
	cl.conn = nil
	cl.mu.Lock()
	cl.current = nil
	cl.mu.Unlock()
}

// Interrupt drops the connection at once, for a hard stop; safe from any
// goroutine.
func (cl *Client) Interrupt() {
	cl.mu.Lock()
	c := cl.current
	cl.mu.Unlock()
	if c != nil {
		c.CloseNow()
	}
}

// Close ends the VU's connection, politely.
func (cl *Client) Close() error {
	cl.closeConn(websocket.StatusGoingAway)
	if cl.http != nil {
		cl.http.CloseIdleConnections()
	}
	return nil
}
