package plan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ExpandDSN replaces every ${NAME} in a DSN of the plan (a SQL step's
// database, the PostgreSQL watch's) by getenv(NAME), when the run opens
// it: a plan names the variable, never the password. A variable that is
// unset or empty is an error naming it, never the DSN, since a DSN
// usually carries a password and no message prints one.
func ExpandDSN(dsn string, getenv func(string) string) (string, error) {
	if !strings.Contains(dsn, "${") {
		return dsn, nil
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var b strings.Builder
	for {
		i := strings.Index(dsn, "${")
		if i < 0 {
			b.WriteString(dsn)
			return b.String(), nil
		}
		j := strings.IndexByte(dsn[i:], '}')
		if j < 0 {
			return "", errors.New("unterminated ${ in the DSN")
		}
		name := dsn[i+2 : i+j]
		if !envName(name) {
			return "", fmt.Errorf("%s in the DSN is not an environment variable name", strconv.Quote("${"+name+"}"))
		}
		v := getenv(name)
		if v == "" {
			return "", fmt.Errorf("the DSN reads ${%s}, which is not set", name)
		}
		b.WriteString(dsn[:i])
		b.WriteString(v)
		dsn = dsn[i+j+1:]
	}
}

// envName reports whether s is a POSIX environment variable name.
func envName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
