package plan

import (
	"strings"
	"testing"
)

func TestExpandDSN(t *testing.T) {
	env := map[string]string{"SHOP_DSN": "postgres://app:s3cret@db:5432/shop", "PW": "hunter2"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		why, dsn, want string
		errHas         string // the error names this; "" for no error
	}{
		{"the whole DSN from a variable", "${SHOP_DSN}", env["SHOP_DSN"], ""},
		{"a password inside a keyword string", "host=db password=${PW}", "host=db password=hunter2", ""},
		{"nothing to expand passes through", "file:/tmp/shop.db", "file:/tmp/shop.db", ""},
		{"an unset variable is named", "${NOPE}", "", "NOPE"},
		{"an unterminated reference", "host=db password=${PW", "", "unterminated"},
		{"not a variable name", "host=${1X}", "", "1X"},
	} {
		got, err := ExpandDSN(tc.dsn, getenv)
		switch {
		case tc.errHas == "" && (err != nil || got != tc.want):
			t.Errorf("%s: ExpandDSN(%q) = %q, %v; want %q", tc.why, tc.dsn, got, err, tc.want)
		case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
			t.Errorf("%s: ExpandDSN(%q) error %v, want one naming %q", tc.why, tc.dsn, err, tc.errHas)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("%s: the error %q quotes a secret", tc.why, err)
		}
	}
}

// FuzzExpandDSN: any DSN either expands, leaving no ${ behind when every
// variable is set to a plain value, or fails with a one-line error.
func FuzzExpandDSN(f *testing.F) {
	for _, s := range []string{"${A}", "postgres://u:${PW}@h/db", "${", "${}", "x${A}y${B_2}z", "${1}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		got, err := ExpandDSN(dsn, func(string) string { return "v" })
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		if strings.Contains(got, "${") {
			t.Fatalf("ExpandDSN(%q) = %q still holds ${", dsn, got)
		}
	})
}
