package bench

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
)

// ErrInvalid marks a problem with what was asked for (options, commands,
// parameters, suites), as opposed to a failure while measuring.
var ErrInvalid = errors.New("invalid benchmark")

// Param is a benchmark parameter: `{Name}` in a command line (and in its
// prepare command) is replaced by each of Values in turn.
type Param struct {
	Name   string
	Values []string
}

// maxParamValues bounds a scan so a typo in a step cannot start a
// benchmark of millions of commands.
const maxParamValues = 10000

// validParamName reports whether name is letters, digits and _, not
// starting with a digit.
func validParamName(name string) bool {
	if name == "" {
		return false
	}
	for i, c := range name {
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && !(i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// ParamList is a parameter taking the given values in order.
func ParamList(name string, values []string) (Param, error) {
	if !validParamName(name) {
		return Param{}, fmt.Errorf("%w: parameter name %q: use letters, digits and _", ErrInvalid, name)
	}
	if len(values) == 0 {
		return Param{}, fmt.Errorf("%w: parameter %s has no values", ErrInvalid, name)
	}
	return Param{Name: name, Values: values}, nil
}

// ParamScan is a parameter taking lo, lo+step, … up to hi inclusive. The
// values are printed with as many decimals as lo and step have, so
// "1 3" gives 1, 2, 3 and "0 1 0.25" gives 0.00, 0.25 … 1.00.
func ParamScan(name, lo, hi, step string) (Param, error) {
	if step == "" {
		step = "1"
	}
	var nums [3]float64
	for i, s := range []string{lo, hi, step} {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return Param{}, fmt.Errorf("%w: parameter scan %s: %q is not a number", ErrInvalid, name, s)
		}
		nums[i] = v
	}
	l, h, st := nums[0], nums[1], nums[2]
	switch {
	case st <= 0:
		return Param{}, fmt.Errorf("%w: parameter scan %s: step must be > 0, got %s", ErrInvalid, name, step)
	case h < l:
		return Param{}, fmt.Errorf("%w: parameter scan %s: %s > %s", ErrInvalid, name, lo, hi)
	case (h-l)/st >= maxParamValues:
		return Param{}, fmt.Errorf("%w: parameter scan %s: more than %d values", ErrInvalid, name, maxParamValues)
	}
	prec := max(decimals(lo), decimals(step))
	var values []string
	for i := 0; ; i++ {
		v := l + float64(i)*st
		if v > h+st*1e-9 {
			break
		}
		values = append(values, strconv.FormatFloat(v, 'f', prec, 64))
	}
	return ParamList(name, values)
}

// decimals counts the digits after the decimal point of a number as written.
func decimals(s string) int {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

// Command is one command line to benchmark.
type Command struct {
	Name    string            // shown in reports; the line when empty
	Line    string            // what runs
	Prepare string            // runs before every run of Line, untimed; may be empty
	Params  map[string]string // the parameter values substituted into Line
}

// Label is the name shown for c.
func (c Command) Label() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Line
}

// Expand turns command templates into commands: with no parameters, one
// command per template; otherwise one per template and combination of
// parameter values (the first parameter varying slowest), with `{name}`
// replaced in the line and in prepare by the value quoted for the shell
// (see substitute): a value is data, never shell syntax. A parameter that no template uses is
// an error, as it is almost always a typo.
func Expand(templates []string, prepare string, params []Param) ([]Command, error) {
	if len(templates) == 0 {
		return nil, fmt.Errorf("%w: no command to benchmark", ErrInvalid)
	}
	var errs []error
	seen := map[string]bool{}
	for _, p := range params {
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("%w: parameter %s is given twice", ErrInvalid, p.Name))
		}
		seen[p.Name] = true
		used := false
		for _, t := range templates {
			used = used || strings.Contains(t, "{"+p.Name+"}")
		}
		if !used {
			errs = append(errs, fmt.Errorf("%w: parameter %s is not used: no command contains {%s}", ErrInvalid, p.Name, p.Name))
		}
	}
	for _, t := range templates {
		if strings.TrimSpace(t) == "" {
			errs = append(errs, fmt.Errorf("%w: empty command", ErrInvalid))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	combos := []map[string]string{{}}
	for _, p := range params {
		var next []map[string]string
		for _, c := range combos {
			for _, v := range p.Values {
				m := maps.Clone(c)
				m[p.Name] = v
				next = append(next, m)
			}
		}
		combos = next
	}
	var cmds []Command
	for _, t := range templates {
		for _, c := range combos {
			cmd := Command{Line: Substitute(t, c), Prepare: Substitute(prepare, c)}
			if len(c) > 0 {
				cmd.Params = c
			}
			cmds = append(cmds, cmd)
		}
	}
	return cmds, nil
}

// Substitute replaces each {name} of s by its value, quoted for the shell
// where it lands, so that a value is always one literal piece of a word
// and never shell syntax (`x; rm …` stays the text it is). Outside quotes
// a value that is not a plain word is single-quoted; inside single quotes
// its own quotes are escaped; inside double quotes it is spliced in as a
// single-quoted piece. The result reads the same through sh -c and
// through SplitWords (--shell none). Values of plain words
// (letters, digits, and @%+=:,./_-) are inserted as they are.
func Substitute(s string, values map[string]string) string {
	if len(values) == 0 || !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	const (
		outside = iota
		single
		double
	)
	state := outside
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '{' {
			if j := strings.IndexByte(s[i:], '}'); j > 0 {
				if v, ok := values[s[i+1:i+j]]; ok {
					switch state {
					case outside:
						b.WriteString(shellQuote(v))
					case single:
						b.WriteString(strings.ReplaceAll(v, "'", `'\''`))
					case double:
						b.WriteString(`"` + shellQuote(v) + `"`)
					}
					i += j
					continue
				}
			}
		}
		b.WriteByte(c)
		switch {
		case state == outside && c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case state == double && c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case state == outside && c == '\'':
			state = single
		case state == outside && c == '"':
			state = double
		case state == single && c == '\'', state == double && c == '"':
			state = outside
		}
	}
	return b.String()
}

// shellQuote returns v as one shell word: as it is when it is a plain
// word, else in single quotes with its own single quotes written '\”.
func shellQuote(v string) string {
	if v != "" && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}
