package gotext

import (
	"bytes"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
)

// parkedInSelect waits in a select until release is closed.
func parkedInSelect(ready chan<- struct{}, release <-chan struct{}) {
	close(ready)
	select {
	case <-release:
	}
}

func TestParseRealProfile(t *testing.T) {
	ready, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	for range 3 {
		r := make(chan struct{})
		go parkedInSelect(r, release)
		<-r
	}
	close(ready)
	var buf bytes.Buffer
	// The goroutines may not be parked yet when they have closed ready:
	// take profiles until all three are seen parked.
	for try := 0; ; try++ {
		buf.Reset()
		if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
			t.Fatal(err)
		}
		p, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("%v\n%s", err, buf.String())
		}
		if err := p.CheckValid(); err != nil {
			t.Fatal(err)
		}
		var parked int64
		for _, s := range p.Sample {
			if len(s.Location) > 0 && strings.HasSuffix(s.Location[0].Line[0].Function.Name, ".parkedInSelect") {
				if s.NumLabel["hidden"][0] == 0 {
					continue // not parked yet
				}
				if !strings.HasSuffix(s.Location[0].Line[0].Function.Filename, "gotext_test.go") || s.Location[0].Line[0].Line == 0 {
					t.Fatalf("file and line not read: %+v", s.Location[0].Line[0])
				}
				parked += s.Value[0]
			}
		}
		if parked == 3 {
			break
		}
		if try == 1000 {
			t.Fatalf("three goroutines parked in select not found:\n%s", buf.String())
		}
		runtime.Gosched() // let them park
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "empty"},
		{"heap profile: 1", "line 1: not a goroutine profile"},
		{"goroutine profile: total x", "line 1: bad total"},
		{"goroutine profile: total 1\n#\t0x1\tmain.f+0x1\tf.go:1", "line 2: a frame before"},
		{"goroutine profile: total 1\n1 @ 0xzz", "line 2: bad address"},
		{"goroutine profile: total 1\nx @ 0x1", "line 2: want \"COUNT @ ADDRESSES\""},
		{"goroutine profile: total 1\n1 @ 0x1\n#\tzz\tmain.f", "line 3: bad address"},
	} {
		_, err := Parse([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", c.in, err, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&buf, 1)
	f.Add(buf.Bytes())
	f.Add([]byte("goroutine profile: total 2\n2 @ 0x10 0x20\n# labels: {\"a\":\"b\"}\n#\t0x1f\tmain.f+0xf\t/x/y.go:3\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		if err := p.CheckValid(); err != nil {
			t.Fatalf("Parse gave an invalid profile: %v", err)
		}
		var out bytes.Buffer
		if err := p.Write(&out); err != nil {
			t.Fatal(err)
		}
	})
}
