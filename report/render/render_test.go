package render

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// gfm renders Markdown as GitHub does its tables.
var gfm = goldmark.New(goldmark.WithExtensions(extension.Table))

func renderMD(t testing.TB, md string) string {
	var b bytes.Buffer
	if err := gfm.Convert([]byte(md), &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var (
	cellRE = regexp.MustCompile(`(?s)<td>(.*?)</td>`)
	tagRE  = regexp.MustCompile(`<[^>]*>`)
)

var tricky = []string{
	"demo.(*Shop).auditTrail and demo.(*Shop).rememberRequest",
	"cum_pct and heap_start heap_end",
	"a | b || c",
	"<script>alert(1)</script> & &lt; &amp;",
	"`code` and ``two``",
	"[a link](http://example.com) ![img](x.png)",
	`back\slash \* \| \`,
	"**bold** __strong__ ~~struck~~",
	"line one\nline two\r\n\ttabbed   spaced",
	"# heading-ish - item + item 1. item > quote",
	"> quoted >= 6 samples",
	"",
}

// TestMarkdownRendersAsItself: every string, escaped into a table cell
// and into a paragraph, renders as exactly its text (white space folded)
// with no markup, and the table keeps its one cell per row.
func TestMarkdownRendersAsItself(t *testing.T) {
	for _, s := range tricky {
		checkMarkdown(t, s)
	}
}

func FuzzMarkdown(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1000 || !utf8Printable(s) {
			return
		}
		checkMarkdown(t, s)
	})
}

// utf8Printable keeps the fuzzer to text a run holds: valid UTF-8
// without control characters other than white space (Markdown maps NUL
// to U+FFFD).
func utf8Printable(s string) bool {
	for _, r := range s {
		if r == 0xFFFD || r < 0x20 && !strings.ContainsRune("\t\n\r", r) || r == 0x7F {
			return false
		}
	}
	return true
}

func checkMarkdown(t *testing.T, s string) {
	t.Helper()
	want := strings.Join(strings.Fields(s), " ")
	table := renderMD(t, "| h | x |\n|---|---|\n| "+Markdown(s)+" | end |\n")
	cells := cellRE.FindAllStringSubmatch(table, -1)
	if len(cells) != 2 || cells[1][1] != "end" {
		t.Fatalf("%q in a table cell: the row is not two cells:\n%s", s, table)
	}
	if got := cells[0][1]; tagRE.MatchString(got) || html.UnescapeString(got) != want {
		t.Errorf("%q in a table cell renders as %q", s, got)
	}
	if want == "" {
		return
	}
	para := renderMD(t, "text: "+Markdown(s)+"\n")
	got := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(para), "<p>"), "</p>")
	if tagRE.MatchString(got) || html.UnescapeString(got) != "text: "+want {
		t.Errorf("%q in a paragraph renders as %q", s, para)
	}
}

// TestMarkdownCodeStaysOneSpan: in a code span in a table cell, any
// text stays one span of one cell, its backquotes shown as quotes.
func TestMarkdownCodeStaysOneSpan(t *testing.T) {
	for _, s := range tricky {
		if strings.TrimSpace(s) == "" {
			continue
		}
		out := renderMD(t, "| h | x |\n|---|---|\n| `"+MarkdownCode(s)+"` | end |\n")
		cells := cellRE.FindAllStringSubmatch(out, -1)
		if len(cells) != 2 || cells[1][1] != "end" {
			t.Fatalf("%q in a code span: the row is not two cells:\n%s", s, out)
		}
		want := strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "`", "'")
		got := cells[0][1]
		if !strings.HasPrefix(got, "<code>") || !strings.HasSuffix(got, "</code>") ||
			html.UnescapeString(strings.TrimSuffix(strings.TrimPrefix(got, "<code>"), "</code>")) != want {
			t.Errorf("%q in a code span renders as %q, want the code %q", s, got, want)
		}
	}
}

// TestTableAligns: columns two spaces apart, right alignment pads on
// the left.
func TestTableAligns(t *testing.T) {
	var b strings.Builder
	tw := Table(&b, Right)
	tw.Write([]byte("a\tbbbb\t\nccc\td\t\n"))
	tw.Flush()
	if want := "    a  bbbb\n  ccc     d\n"; b.String() != want {
		t.Errorf("right-aligned table %q, want %q", b.String(), want)
	}
	b.Reset()
	tw = Table(&b, Left)
	tw.Write([]byte("a\tbbbb\nccc\td\n"))
	tw.Flush()
	if want := "a    bbbb\nccc  d\n"; b.String() != want {
		t.Errorf("left-aligned table %q, want %q", b.String(), want)
	}
}

// TestMarkdownInsideBold: a title in bold stays one bold title, however
// many pointer receivers it names, and names with inner underscores are
// written as they are.
func TestMarkdownInsideBold(t *testing.T) {
	title := "Shorten the critical section in demo.(*Shop).auditTrail"
	out := renderMD(t, "- **"+Markdown(title)+"** (priority high)\n")
	if want := "<li><strong>" + title + "</strong> (priority high)</li>"; !strings.Contains(out, want) {
		t.Errorf("bold title renders as %q, want %q", out, want)
	}
	if got := Markdown("cum_pct of go_gc_cycles"); got != "cum_pct of go_gc_cycles" {
		t.Errorf("inner underscores escaped: %q", got)
	}
}
