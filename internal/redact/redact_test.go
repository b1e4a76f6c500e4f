package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ reason, in, want string }{
		{"URL password", "postgres://perf:s3cret@db.internal/perf", "postgres://perf:xxxxx@db.internal/perf"},
		{"escaped URL password", "postgres://perf:s%40cr%2Ft@db/perf", "postgres://perf:xxxxx@db/perf"},
		{"password as a query parameter", "postgres://perf@db/perf?sslmode=disable&password=s3cret", "postgres://perf@db/perf?sslmode=disable&password=xxxxx"},
		{"sslkey and sslpassword", "postgres://db/p?sslkey=/k.pem&sslpassword=pw&application_name=x", "postgres://db/p?sslkey=xxxxx&sslpassword=xxxxx&application_name=x"},
		{"mysql URL", "mysql://root:hunter2@127.0.0.1:3306/shop", "mysql://root:xxxxx@127.0.0.1:3306/shop"},
		{"sqlite URL with user information", "sqlite://u:hunter2@/tmp/x.db", "sqlite://u:xxxxx@/tmp/x.db"},
		{"unescaped '/' in the password: the URL does not parse", "postgres://u:pa/ss@db/x", "postgres://u:xxxxx@db/x"},
		{"libpq keyword/value", "host=db port=5432 user=perf password=s3cret dbname=perf", "host=db port=5432 user=perf password=xxxxx dbname=perf"},
		{"libpq quoted value with spaces", "host=db password = 'a b\\'c' dbname=x", "host=db password = xxxxx dbname=x"},
		{"MySQL DSN", "root:hunter2@tcp(127.0.0.1:3306)/shop?parseTime=true", "root:xxxxx@tcp(127.0.0.1:3306)/shop?parseTime=true"},
		{"web URL token", "https://api.example/v1?api_key=abc123&page=2", "https://api.example/v1?api_key=xxxxx&page=2"},
		{"web URL with a token for a user", "https://ghp_abcdef@github.com/x.git", "https://xxxxx@github.com/x.git"},
		{"an '@' in a path is not user information", "http://127.0.0.1:8080/users/a@b.example", "http://127.0.0.1:8080/users/a@b.example"},
		{"nothing secret", "http://127.0.0.1:8080/products?page=2", "http://127.0.0.1:8080/products?page=2"},
		{"a SQLite path", ".stampede/history.db", ".stampede/history.db"},
	} {
		if got := String(tc.in); got != tc.want {
			t.Errorf("%s: String(%q) = %q, want %q", tc.reason, tc.in, got, tc.want)
		}
	}
}

func TestHeader(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"Authorization", "Bearer abc.def", "Bearer xxxxx"},
		{"authorization", "s3cret", "xxxxx"},
		{"Proxy-Authorization", "Basic dXNlcjpwdw==", "Basic xxxxx"},
		{"Cookie", "session=abc; theme=dark", "xxxxx"},
		{"X-Api-Key", "k 123", "xxxxx"},
		{"X-Auth-Token", "t", "xxxxx"},
		{"Accept", "application/json", "application/json"},
		{"Referer", "https://x.example/?token=abc", "https://x.example/?token=xxxxx"},
	} {
		if got := Header(tc.name, tc.value); got != tc.want {
			t.Errorf("Header(%q, %q) = %q, want %q", tc.name, tc.value, got, tc.want)
		}
	}
}

func TestScrub(t *testing.T) {
	dsn := "host=db user=perf password='p@ss word' dbname=perf"
	msg := `failed to connect to host=db user=perf password='p@ss word': the password "p@ss word" was refused`
	if got := Scrub(msg, dsn); strings.Contains(got, "p@ss") {
		t.Errorf("Scrub left the password: %q", got)
	}
	for _, msg := range []string{
		"GET http://h/x?token=abc123: timeout",
		`Get "http://127.0.0.1:1/metrics?access_token=abc123": dial tcp 127.0.0.1:1: connect: connection refused`,
		"cannot open postgres://u:abc123@db/x (host=db password=abc123)",
	} {
		if got := Text(msg); strings.Contains(got, "abc123") {
			t.Errorf("Text left the secret: %q", got)
		}
	}
}

// shapes are the ways a secret is written in what stampede prints: each
// builds a string holding secret as a user would write it (escaped where
// the syntax needs it) and redacts it. ok is false when the secret cannot
// be written in that shape at all.
var shapes = []struct {
	name string
	make func(secret string) (out string, ok bool)
}{
	{"URL password", func(s string) (string, bool) {
		return String("postgres://perf:" + userEscape(s) + "@db.internal:5432/perf?sslmode=disable"), true
	}},
	{"unescaped URL password", func(s string) (string, bool) {
		if strings.ContainsAny(s, "/?#") || hasSpace(s) {
			return "", false // these change where the URL's parts are
		}
		return String("postgres://perf:" + s + "@db/perf"), true
	}},
	{"password query parameter", func(s string) (string, bool) {
		return String("postgres://perf@db/perf?sslmode=disable&password=" + url.QueryEscape(s) + "&connect_timeout=5"), true
	}},
	{"sslkey query parameter", func(s string) (string, bool) {
		return String("postgresql://db/perf?sslkey=" + url.QueryEscape(s)), true
	}},
	{"mysql URL", func(s string) (string, bool) {
		return String("mysql://root:" + userEscape(s) + "@127.0.0.1:3306/shop"), true
	}},
	{"sqlite URL", func(s string) (string, bool) { return String("sqlite://u:" + userEscape(s) + "@/tmp/shop.db"), true }},
	{"MySQL DSN", func(s string) (string, bool) {
		if strings.ContainsAny(s, "@/()") || hasSpace(s) {
			return "", false
		}
		return String("root:" + s + "@tcp(127.0.0.1:3306)/shop?parseTime=true"), true
	}},
	{"libpq keyword/value", func(s string) (string, bool) {
		return String("host=db port=5432 user=perf password=" + libpqQuote(s) + " dbname=perf"), true
	}},
	{"libpq spaced keyword", func(s string) (string, bool) {
		return String("password = " + libpqQuote(s) + " host=db"), true
	}},
	{"web token parameter", func(s string) (string, bool) {
		return String("https://api.example/v1/items?page=2&access_token=" + url.QueryEscape(s)), true
	}},
	{"apikey parameter", func(s string) (string, bool) {
		return String("http://127.0.0.1:8080/?apikey=" + url.QueryEscape(s) + "&q=1"), true
	}},
	{"Authorization header", func(s string) (string, bool) { return Header("Authorization", "Bearer "+s), true }},
	{"X-Api-Key header", func(s string) (string, bool) { return Header("X-Api-Key", s), true }},
	{"Cookie header", func(s string) (string, bool) { return Header("Cookie", "session="+s), true }},
	{"URL in a message", func(s string) (string, bool) {
		return Text("cannot connect to postgres://perf:" + userEscape(s) + "@db/perf: timeout"), true
	}},
	{"driver message", func(s string) (string, bool) {
		dsn := "host=db user=perf password=" + libpqQuote(s)
		return Scrub("failed to connect to `"+dsn+"`: password "+s+" rejected", dsn), true
	}},
}

// The output never depends on the secret: it is the same as with another
// secret in its place, so no part of the secret can survive in it.
func checkShapes(t *testing.T, secret string) {
	t.Helper()
	if secret == "" {
		return // nothing to hide
	}
	const other = "Zq9Zq9Zq9"
	for _, sh := range shapes {
		got, ok := sh.make(secret)
		if !ok {
			continue
		}
		want, _ := sh.make(other)
		if sh.name == "driver message" {
			// The message quotes the secret: it is gone, whatever else.
			if len(secret) >= 4 && !strings.Contains(want, secret) && strings.Contains(got, secret) {
				t.Errorf("%s: secret %q survives in %q", sh.name, secret, got)
			}
			continue
		}
		if got != want {
			t.Errorf("%s: the output depends on the secret %q:\n got %q\nwant %q", sh.name, secret, got, want)
		}
	}
}

func TestSecretShapes(t *testing.T) {
	for _, s := range []string{"s3cret", "p@ss:w/rd?#&=;", "?pAss", "with space", `quo'te\back`, "ünïcødé", "a&b=c", "%2F%40", "xxxxx", "'", "==", ""} {
		checkShapes(t, s)
	}
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{"s3cret", "p@ss:w/rd?#&=;", "with space", `quo'te\back`, "a&password=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, secret string) {
		if strings.ContainsAny(secret, "\x00") {
			return
		}
		checkShapes(t, secret)
	})
}

func userEscape(s string) string {
	u := url.UserPassword("u", s).String()
	return strings.TrimPrefix(u, "u:")
}

func hasSpace(s string) bool { return strings.ContainsAny(s, " \t\n\r\f\v") }

// libpqQuote writes a value as libpq reads it: bare when it is a plain
// word, else in single quotes with ' and \ escaped.
func libpqQuote(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			plain = false
		}
	}
	if plain {
		return s
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// Masking never panics, whatever it is given.
func FuzzAnyInput(f *testing.F) {
	for _, s := range []string{"postgres://u:p@h/d?password=x", "host=h password='a", "a:b@tcp(", "?&=;", "://@:", "'\\", "password = "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		String(s)
		Text(s)
		Header(s, s)
		Scrub(s, s)
		Secrets(s)
	})
}
