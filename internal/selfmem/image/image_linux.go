package image

import (
	"errors"
	"os"
	"syscall"
)

// Spans reads /proc/self/maps for the executable's read-only, private
// mappings.
func Spans() ([]Span, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	var spans []Span
	for len(b) > 0 {
		line := b
		for i, c := range b {
			if c == '\n' {
				line, b = b[:i], b[i+1:]
				break
			}
		}
		if len(line) == len(b) {
			b = nil
		}
		if s, ok := readOnlyImage(string(line), exe); ok {
			spans = append(spans, s)
		}
	}
	return spans, nil
}

// fileResident reads the process's file-backed resident memory (and
// shared memory, which a Go program does not map) from /proc/self/statm,
// in bytes.
func fileResident() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := fields(string(b), 4) // size resident shared …
	if len(f) < 3 {
		return 0, false
	}
	var pages int64
	for i := 0; i < len(f[2]); i++ {
		c := f[2][i]
		if c < '0' || c > '9' || pages > 1<<40 {
			return 0, false
		}
		pages = pages*10 + int64(c-'0')
	}
	return pages * int64(syscall.Getpagesize()), len(f[2]) > 0
}

// errAdvise wraps the errno of a refused madvise.
var errAdvise = errors.New("madvise of the executable's read-only pages")

// Advise drops the pages of spans from the page tables.
func Advise(spans []Span) error { return madvise(spans, syscall.MADV_DONTNEED) }

// Uncache drops the pages of spans from the page tables, marks them to be
// read back a page at a time (MADV_RANDOM: no read-ahead) and asks the
// kernel to let go of the executable's pages in the page cache that no
// process maps (see Evict).
func Uncache(spans []Span) error {
	if err := madvise(spans, syscall.MADV_RANDOM); err != nil {
		return err
	}
	if err := Advise(spans); err != nil {
		return err
	}
	return uncacheExecutable()
}

func madvise(spans []Span, advice int) error {
	for _, s := range spans {
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(s.Lo), uintptr(s.Hi-s.Lo), uintptr(advice)); e != 0 {
			return errors.Join(errAdvise, e)
		}
	}
	return nil
}

// readOnlyImage parses one line of /proc/self/maps ("lo-hi perms offset
// dev inode path") and reports the span of a private mapping of exe
// without write permission.
func readOnlyImage(line, exe string) (Span, bool) {
	f := fields(line, 6)
	if len(f) < 6 || f[5] != exe {
		return Span{}, false
	}
	perms := f[1]
	if len(perms) != 4 || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p' {
		return Span{}, false
	}
	var lo, hi string
	for i := 0; i < len(f[0]); i++ {
		if f[0][i] == '-' {
			lo, hi = f[0][:i], f[0][i+1:]
			break
		}
	}
	l, ok1 := hex(lo)
	h, ok2 := hex(hi)
	if !ok1 || !ok2 || h <= l {
		return Span{}, false
	}
	return Span{l, h}, true
}

// fields splits line at runs of spaces into at most n fields; the last
// keeps the rest of the line (a path may hold spaces), trailing spaces
// trimmed.
func fields(line string, n int) []string {
	var f []string
	for len(line) > 0 && len(f) < n {
		i := 0
		for i < len(line) && line[i] == ' ' {
			i++
		}
		line = line[i:]
		if line == "" {
			break
		}
		if len(f) == n-1 {
			j := len(line)
			for j > 0 && line[j-1] == ' ' {
				j--
			}
			f = append(f, line[:j])
			break
		}
		j := 0
		for j < len(line) && line[j] != ' ' {
			j++
		}
		f = append(f, line[:j])
		line = line[j:]
	}
	return f
}

// hex parses a non-empty hexadecimal number of at most 16 digits.
func hex(s string) (uint64, bool) {
	if s == "" || len(s) > 16 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}
