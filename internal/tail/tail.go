// Package tail keeps the end of what a child process writes, to show when
// it fails: a bounded buffer that drops its oldest bytes.
package tail

import (
	"strings"
	"sync"
)

// Buffer keeps the last Max bytes written to it. It is safe for concurrent
// use: a child's stdout and stderr may write at once while another
// goroutine reads it.
type Buffer struct {
	Max int

	mu  sync.Mutex // guards buf
	buf []byte
}

// Write keeps the end of p and what came before, up to Max bytes.
func (t *Buffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.Max {
		t.buf = t.buf[len(t.buf)-t.Max:]
	}
	return len(p), nil
}

// String is what is kept, without surrounding white space.
func (t *Buffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}
