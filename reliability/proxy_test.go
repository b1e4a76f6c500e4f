package reliability

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fault is what the proxy does to one connection. The generator runs with
// keep_alive: false, so each connection carries exactly one request and the
// proxy's schedule of faults, by connection index, is one of requests.
type fault int

const (
	pass     fault = iota // forward both ways
	reset                 // read the request, then close with RST
	stall                 // read the request, then send nothing until the test ends
	truncate              // forward the response's head and half of its body, then close
	drip                  // forward the response one byte at a time
	burst5xx              // answer 503 without asking the target
	numFaults
)

var faultNames = [numFaults]string{"pass", "reset", "stall", "truncate", "drip", "5xx"}

func (f fault) String() string { return faultNames[f] }

// faultProxy is a TCP proxy on loopback that applies schedule(i) to its
// i-th accepted connection (from 0). It stops, closing every connection it
// holds, when the test ends.
type faultProxy struct {
	t        *testing.T
	ln       net.Listener
	target   string
	schedule func(i int) fault
	dripGap  time.Duration // between two bytes of a drip

	accepted atomic.Int64
	applied  [numFaults]atomic.Int64
	done     chan struct{}
	wg       sync.WaitGroup
}

func newFaultProxy(t *testing.T, target string, schedule func(i int) fault) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{t: t, ln: ln, target: target, schedule: schedule, dripGap: time.Millisecond, done: make(chan struct{})}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		close(p.done)
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *faultProxy) URL() string { return "http://" + p.ln.Addr().String() }

// counts is how many connections got each fault.
func (p *faultProxy) counts() map[fault]int64 {
	m := map[fault]int64{}
	for f := range numFaults {
		if n := p.applied[f].Load(); n > 0 {
			m[f] = n
		}
	}
	return m
}

func (p *faultProxy) serve() {
	defer p.wg.Done()
	for i := 0; ; i++ {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		f := p.schedule(i)
		p.applied[f].Add(1)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c.(*net.TCPConn), f)
		}()
	}
}

// readHead reads a request's head (a GET: no body).
func readHead(br *bufio.Reader) ([]byte, error) {
	var head []byte
	for {
		line, err := br.ReadBytes('\n')
		head = append(head, line...)
		if err != nil {
			return head, err
		}
		if bytes.Equal(line, []byte("\r\n")) {
			return head, nil
		}
	}
}

func (p *faultProxy) handle(c *net.TCPConn, f fault) {
	defer c.Close()
	// Unblock every read and write when the test ends.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-p.done:
			c.SetDeadline(time.Now())
		case <-stop:
		}
	}()
	head, err := readHead(bufio.NewReader(c))
	if err != nil {
		p.t.Errorf("proxy: reading a request: %v", err)
		return
	}
	switch f {
	case reset:
		c.SetLinger(0) // close sends RST
		return
	case stall:
		<-p.done
		return
	case burst5xx:
		io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		p.t.Errorf("proxy: dialing the target: %v", err)
		return
	}
	defer up.Close()
	if _, err := up.Write(head); err != nil {
		p.t.Errorf("proxy: forwarding a request: %v", err)
		return
	}
	resp, err := io.ReadAll(up) // the request says Connection: close
	if err != nil {
		p.t.Errorf("proxy: reading the target's response: %v", err)
		return
	}
	switch f {
	case pass:
		c.Write(resp)
	case truncate:
		end := bytes.Index(resp, []byte("\r\n\r\n")) + 4
		if end < 4 || len(resp)-end < 2 {
			p.t.Errorf("proxy: a response without a body to truncate: %q", resp)
			return
		}
		c.Write(resp[:end+(len(resp)-end)/2])
		c.CloseWrite() // FIN mid-body
		io.Copy(io.Discard, c)
	case drip:
		for i := range resp {
			if _, err := c.Write(resp[i : i+1]); err != nil {
				return
			}
			select {
			case <-time.After(p.dripGap):
			case <-p.done:
				return
			}
		}
	}
}
