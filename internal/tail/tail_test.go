package tail

import (
	"strings"
	"testing"
)

func TestKeepsTheEnd(t *testing.T) {
	b := &Buffer{Max: 8}
	b.Write([]byte("abcdef"))
	b.Write([]byte("ghij\n"))
	if got := b.String(); got != "defghij" {
		t.Errorf("kept %q, want the last 8 bytes, trimmed: defghij", got)
	}
	b.Write([]byte(strings.Repeat("x", 20)))
	if got := b.String(); got != strings.Repeat("x", 8) {
		t.Errorf("kept %q after a long write", got)
	}
}
