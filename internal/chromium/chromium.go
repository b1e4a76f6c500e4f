// Package chromium drives a headless Chromium for tests over the DevTools
// protocol, on the --remote-debugging-pipe file descriptors (no port, no
// websocket): commands go in on fd 3 and answers and events come out on fd
// 4, each a JSON message ended by a NUL byte. Tests that need a real
// browser (the HTML report's rendering, a recorded browser session) start
// one with Start, which skips the test when no Chromium is installed
// unless STAMPEDE_REQUIRE_CHROMIUM is set, and closes it when the test
// ends.
package chromium

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Timeout bounds the wait for one answer or event.
const Timeout = 30 * time.Second

// Path finds the browser: $STAMPEDE_CHROMIUM, or chromium or Chrome on
// the PATH; "" when there is none.
func Path() string {
	if p := os.Getenv("STAMPEDE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is a headless Chromium and its DevTools pipe. It is used from
// the test's goroutine only.
type Browser struct {
	send   *os.File
	msgs   chan map[string]any
	stderr *lockedBuffer
	nextID int
	// Events holds the events seen so far, in order.
	Events []map[string]any
}

type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start starts a headless Chromium for t. Without one it skips t, saying
// what was not checked (missing), or fails t when STAMPEDE_REQUIRE_CHROMIUM
// is set.
func Start(t testing.TB, missing string) *Browser {
	t.Helper()
	bin := Path()
	if bin == "" {
		msg := "no Chromium found (install Debian's chromium, or set STAMPEDE_CHROMIUM): " + missing
		if os.Getenv("STAMPEDE_REQUIRE_CHROMIUM") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	toBrowser, send, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	recv, fromBrowser, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "--window-size=1200,900",
		"--enable-logging=stderr", "--v=0", "about:blank")
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser} // fd 3: commands in, fd 4: answers out
	b := &Browser{send: send, msgs: make(chan map[string]any, 1024), stderr: &lockedBuffer{}}
	cmd.Stderr = b.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", bin, err)
	}
	toBrowser.Close()
	fromBrowser.Close()
	go func() {
		defer close(b.msgs)
		r := bufio.NewReaderSize(recv, 1<<20)
		for {
			line, err := r.ReadBytes(0)
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(line[:len(line)-1], &m) == nil {
				b.msgs <- m
			}
		}
	}()
	t.Cleanup(func() {
		b.Call("", "Browser.close", nil)
		send.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		recv.Close()
	})
	return b
}

// Log is what the browser wrote to its standard error so far.
func (b *Browser) Log() string { return b.stderr.String() }

// Call sends one command (to a page's session, or to the browser when
// session is "") and waits for its answer, keeping the events that come
// before it.
func (b *Browser) Call(session, method string, params map[string]any) (map[string]any, error) {
	b.nextID++
	id := b.nextID
	if params == nil {
		params = map[string]any{}
	}
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := b.send.Write(append(data, 0)); err != nil {
		return nil, err
	}
	timeout := time.After(Timeout)
	for {
		select {
		case m, ok := <-b.msgs:
			if !ok {
				return nil, fmt.Errorf("%s: the browser closed the pipe", method)
			}
			if m["id"] == nil {
				b.Events = append(b.Events, m)
				continue
			}
			if int(m["id"].(float64)) != id {
				continue
			}
			if e, ok := m["error"]; ok {
				return nil, fmt.Errorf("%s: %v", method, e)
			}
			res, _ := m["result"].(map[string]any)
			return res, nil
		case <-timeout:
			return nil, fmt.Errorf("%s: no answer in %v", method, Timeout)
		}
	}
}

// WaitEvent waits for an event of a session.
func (b *Browser) WaitEvent(session, method string) error {
	return b.waitEventAfter(0, session, method)
}
