package prometheus

import (
	"net"
	"strings"
	"testing"
)

func TestParseAddr(t *testing.T) {
	for _, c := range []struct {
		in, want string
		why      string
	}{
		{":9464", "127.0.0.1:9464", "a port alone binds loopback"},
		{"0.0.0.0:9464", "0.0.0.0:9464", "all interfaces only when asked"},
		{"[::1]:9464", "[::1]:9464", "IPv6 loopback"},
		{"localhost:0", "localhost:0", "any free port"},
		{"9464", "", "no colon: not an address"},
		{":http", "", "a service name is not a port"},
		{":70000", "", "past the last port"},
		{":-1", "", "a negative port"},
	} {
		got, err := ParseAddr(c.in)
		if (err != nil) != (c.want == "") || got != c.want {
			t.Errorf("%s (%s): %q, %v", c.in, c.why, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), c.in) {
			t.Errorf("%s: the error does not name the address: %v", c.in, err)
		}
	}
}

// A port alone serves loopback only.
func TestLoopbackByDefault(t *testing.T) {
	s, err := New(":0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(nil)
	if !s.IsLoopback() {
		t.Fatalf("listens on %s", s.Addr())
	}
	// The port is taken: a second endpoint on it is refused at once.
	_, port, _ := net.SplitHostPort(s.Addr())
	if _, err := New(":"+port, nil); err == nil {
		t.Fatal("a second endpoint on a taken port was accepted")
	}
}

// ParseAddr never panics, and what it accepts is an address to listen on.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{":9464", "0.0.0.0:1", "[::1]:80", "x", ":", "[:80", ":99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddr(s)
		if err != nil {
			return
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			t.Fatalf("%q gave %q: %v", s, a, err)
		}
	})
}
