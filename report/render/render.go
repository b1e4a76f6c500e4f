// Package render holds what every renderer of stampede shares — the run
// reports (report), the comparison of two runs (stampede compare) and
// the benchmarks (bench): one way to lay out a text table and one way to
// escape text for Markdown.
//
// Design. A text table is a text/tabwriter with two spaces between
// columns, cells aligned left or right as a whole table. Markdown text
// from a run (names, messages, titles, commands) is written so that it
// renders as itself: Markdown puts it on one line, with every character
// Markdown would read as markup there escaped, so a name like
// demo.(*Shop).auditTrail is neither emphasis nor a broken table row;
// inside a code span, where nothing can be escaped, backquotes become
// quotes and pipes are escaped (GitHub's tables split on them even
// there). The package imports nothing of stampede's, so the packages
// below report (bench) can use it too.
package render

import (
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
)

// Align is how a table's cells are aligned.
type Align uint

// Alignments of a table's cells.
const (
	Left  Align = 0
	Right Align = Align(tabwriter.AlignRight)
)

// Table returns the table writer of every text table: cells separated
// by tabs, columns two spaces apart. Flush it after the last row.
func Table(w io.Writer, a Align) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', uint(a))
}

// markdownEscapes are the characters Markdown reads as markup in
// running text and table cells — the backslash itself, emphasis, code,
// links, pipes, HTML and entities — and how each is written as itself.
// A '>' is markup only where a line starts (a quote): it is escaped
// there, and '<' everywhere, so no tag or autolink can form.
var markdownEscapes = map[rune]string{
	'\\': `\\`, '|': `\|`, '*': `\*`, '_': `\_`, '`': "\\`", '[': `\[`, ']': `\]`,
	'<': "&lt;", '&': "&amp;",
}

// Markdown returns s as Markdown that renders as s, on one line (runs of
// white space folded into one space): safe in running text and in a
// table cell. An underscore between two letters or digits is left as it
// is (it cannot start or end emphasis there), so names like cum_pct
// read as they are written.
func Markdown(s string) string {
	rs := []rune(oneLine(s))
	var b strings.Builder
	for i, r := range rs {
		e, ok := markdownEscapes[r]
		if r == '>' && i == 0 {
			e, ok = `\>`, true
		}
		if ok && r == '_' && i > 0 && i+1 < len(rs) && alnum(rs[i-1]) && alnum(rs[i+1]) {
			ok = false
		}
		if ok {
			b.WriteString(e)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func alnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// MarkdownCode returns s for inside a `code span` in running text or a
// table cell: on one line, backquotes turned into quotes (a code span
// cannot escape them) and pipes escaped.
func MarkdownCode(s string) string {
	return strings.NewReplacer("`", "'", "|", `\|`).Replace(oneLine(s))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
