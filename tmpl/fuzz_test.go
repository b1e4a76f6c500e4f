package tmpl

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCompile feeds arbitrary text to Compile and expands what compiles.
// Nothing may panic; text without `{{` must come back unchanged; errors
// must be *SyntaxErrors pointing inside the text.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"", "plain", "{{ vu }}", "{{vu}}{{iteration}}", `{{ "{{" }}`, `{{ "\"}}" }}`,
		"{{ users.email }}/{{ users.password }}", "{{ order_id }}", "{{ base }}",
		"{{ random_int(-3, 3) }}", "{{ random_string(4) }}", "{{ uuid() }}", "{{ timestamp }}",
		"{{ env.HOST }}", "{{", "}}", "{{ }}", "{{ rand_int(1, 2) }}", "{{ users.x }}",
		"é{{ x(", "{{ random_int(1,", "a\n{{ b\nc }}", `{{ "\q" }}`,
	} {
		f.Add(s)
	}
	c := newTestCompiler(f)
	f.Fuzz(func(t *testing.T, src string) {
		tp, err := c.Compile(src)
		if !strings.Contains(src, "{{") {
			if err != nil {
				t.Fatalf("Compile(%q) without {{: %v", src, err)
			}
			if got := string(tp.Append(nil, newTestState(1))); got != src || !tp.Static() {
				t.Fatalf("Compile(%q) without {{ expands to %q (static %v)", src, got, tp.Static())
			}
			if got := string(tp.AppendURL(nil, newTestState(1))); got != src {
				t.Fatalf("Compile(%q) without {{ expands to %q as a URL: literal text must be kept", src, got)
			}
			return
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q): error %T, want *SyntaxError", src, err)
			}
			lines := strings.Split(src, "\n")
			if se.Line < 1 || se.Line > len(lines) || se.Column < 1 || se.Column > utf8.RuneCountInString(lines[se.Line-1])+1 {
				t.Fatalf("Compile(%q): position %d:%d outside the text", src, se.Line, se.Column)
			}
			return
		}
		s := newTestState(1)
		s.NewIteration(1)
		withState := string(tp.Append(nil, s))
		_ = tp.String(s)
		withoutState := string(tp.Append(nil, nil))
		_ = tp.AppendURL(nil, s)
		_ = tp.AppendURL(nil, nil)
		if tp.Static() && withState != withoutState {
			t.Fatalf("static %q expands to %q with a state, %q without", src, withState, withoutState)
		}
		if tp.Raw() != src {
			t.Fatalf("Raw = %q, want %q", tp.Raw(), src)
		}
	})
}
