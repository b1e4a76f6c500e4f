package bench

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		reason, in string
		want       []string
		wantErr    string
	}{
		{"blanks separate words", "sleep  0.1", []string{"sleep", "0.1"}, ""},
		{"single quotes keep everything", `grep -r 'a b\n' .`, []string{"grep", "-r", `a b\n`, "."}, ""},
		{"double quotes keep blanks and unescape quotes", `echo "a \"b\" c"`, []string{"echo", `a "b" c`}, ""},
		{"quotes join with their neighbours", `a'b c'"d"`, []string{"ab cd"}, ""},
		{"a backslash escapes a blank", `ls a\ b`, []string{"ls", "a b"}, ""},
		{"an empty quoted word is a word", `printf ''`, []string{"printf", ""}, ""},
		{"nothing is expanded", `echo $HOME *`, []string{"echo", "$HOME", "*"}, ""},
		{"only blanks is no word", "  ", nil, ""},
		{"an open single quote is an error", `echo 'a`, nil, "unterminated single quote"},
		{"an open double quote is an error", `echo "a`, nil, "unterminated double quote"},
		{"a trailing backslash is an error", `echo a\`, nil, "trailing backslash"},
	} {
		got, err := SplitWords(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: SplitWords(%q) error = %v, want %q", tc.reason, tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: SplitWords(%q) = %q, %v; want %q", tc.reason, tc.in, got, err, tc.want)
		}
	}
}

func TestParamScan(t *testing.T) {
	for _, tc := range []struct {
		reason        string
		lo, hi, step  string
		want          []string
		wantErrSubstr string
	}{
		{"integers by one by default", "1", "4", "", []string{"1", "2", "3", "4"}, ""},
		{"decimals as many as the step has", "0", "1", "0.25", []string{"0.00", "0.25", "0.50", "0.75", "1.00"}, ""},
		{"hi need not be on the grid", "1", "6", "2", []string{"1", "3", "5"}, ""},
		{"floating-point steps do not lose the last value", "0", "0.3", "0.1", []string{"0.0", "0.1", "0.2", "0.3"}, ""},
		{"a single value", "5", "5", "", []string{"5"}, ""},
		{"lo above hi", "5", "1", "", nil, "5 > 1"},
		{"a zero step never ends", "1", "2", "0", nil, "step must be > 0"},
		{"not a number", "a", "2", "", nil, `"a" is not a number`},
		{"too many values", "0", "1e9", "", nil, "more than"},
	} {
		p, err := ParamScan("n", tc.lo, tc.hi, tc.step)
		if tc.wantErrSubstr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErrSubstr) || !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: error = %v, want one containing %q wrapping ErrInvalid", tc.reason, err, tc.wantErrSubstr)
			}
			continue
		}
		if err != nil || !slices.Equal(p.Values, tc.want) {
			t.Errorf("%s: values = %v, %v; want %v", tc.reason, p.Values, err, tc.want)
		}
	}
}

func TestExpand(t *testing.T) {
	threads, _ := ParamList("threads", []string{"1", "2"})
	size, _ := ParamList("size", []string{"s", "l"})
	cmds, err := Expand([]string{"run -t {threads} -s {size}"}, "prep {size}", []Param{threads, size})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range cmds {
		lines = append(lines, c.Line+" | "+c.Prepare+" | "+c.Params["threads"]+c.Params["size"])
	}
	want := []string{
		"run -t 1 -s s | prep s | 1s",
		"run -t 1 -s l | prep l | 1l",
		"run -t 2 -s s | prep s | 2s",
		"run -t 2 -s l | prep l | 2l",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("Expand = %q, want %q (first parameter varies slowest)", lines, want)
	}

	plain, err := Expand([]string{"a", "b"}, "", nil)
	if err != nil || len(plain) != 2 || plain[0].Params != nil {
		t.Errorf("no parameters: %+v, %v; want two commands without parameters", plain, err)
	}

	_, err = Expand([]string{"sleep 1", " "}, "", []Param{threads, threads})
	for _, want := range []string{"parameter threads is given twice", "parameter threads is not used", "empty command"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Expand error = %v, want it to report %q (every problem at once)", err, want)
		}
	}
	if _, err := ParamList("bad-name", []string{"1"}); err == nil {
		t.Error("a parameter name with '-' was accepted: {bad-name} would be ambiguous in shells")
	}
}

func TestParamNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"threads", true}, {"_x1", true}, {"N", true},
		{"", false}, {"1x", false}, {"a-b", false}, {"a b", false}, {"ü", false},
	} {
		if _, err := ParamList(tc.name, []string{"1"}); (err == nil) != tc.ok {
			t.Errorf("ParamList(%q): err = %v, want ok = %v", tc.name, err, tc.ok)
		}
	}
}

// A parameter value is always literal text in the command, whatever it
// holds and wherever the template puts it: through sh -c and through
// SplitWords (--shell none) alike, and nothing it spells is run.
func TestParameterValuesAreQuotedForTheShell(t *testing.T) {
	dir := t.TempDir()
	pwned := filepath.Join(dir, "pwned")
	values := []string{"x;touch " + pwned, "it's", "$(touch " + pwned + ")", "`touch " + pwned + "`", `a"b`, `back\slash`, "", "plain-1.5", "two words", "'", `\'`, "$HOME", "a\nb"}
	for _, tc := range []struct {
		template string
		pre      string // the text around the value, as printed
		post     string
	}{
		{"printf %s {v}", "", ""},
		{"printf %s pre{v}post", "pre", "post"},
		{"printf %s '[{v}]'", "[", "]"},
		{`printf %s "<{v}>"`, "<", ">"},
	} {
		for _, v := range values {
			p, err := ParamList("v", []string{v})
			if err != nil {
				t.Fatal(err)
			}
			cmds, err := Expand([]string{tc.template}, "", []Param{p})
			if err != nil {
				t.Fatal(err)
			}
			line := cmds[0].Line
			out, err := exec.Command("sh", "-c", line).Output()
			want := tc.pre + v + tc.post
			if err != nil || string(out) != want {
				t.Errorf("sh -c %q printed %q (%v), want %q", line, out, err, want)
			}
			words, err := SplitWords(line)
			if err != nil || len(words) != 3 || words[2] != want {
				t.Errorf("SplitWords(%q) = %q (%v), want the value as the third word %q", line, words, err, want)
			}
			if _, err := os.Stat(pwned); err == nil {
				t.Fatalf("the value %q of %q ran a command", v, tc.template)
			}
		}
	}
	// Plain values read as they were written.
	cmds, _ := Expand([]string{"sleep {t}"}, "", []Param{{Name: "t", Values: []string{"0.01"}}})
	if cmds[0].Line != "sleep 0.01" {
		t.Errorf("plain value: %q", cmds[0].Line)
	}
}
