package selfmem

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// dropImage reads /proc/self/maps and advises MADV_DONTNEED over every
// read-only, private mapping of the executable (its code and read-only
// data). The pages were never written, so dropping them loses nothing:
// the next touch maps them again from the page cache. Writable mappings
// are left alone: dropping one would lose what the program wrote.
func dropImage() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var spans [][2]uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lo, hi, ok := readOnlyImage(sc.Text(), exe)
		if ok {
			spans = append(spans, [2]uint64{lo, hi})
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	var dropped int64
	for _, s := range spans {
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(s[0]), uintptr(s[1]-s[0]), syscall.MADV_DONTNEED); e != 0 {
			return dropped, fmt.Errorf("madvise %#x-%#x: %w", s[0], s[1], e)
		}
		dropped += int64(s[1] - s[0])
	}
	return dropped, nil
}

// readOnlyImage parses one line of /proc/self/maps ("lo-hi perms offset
// dev inode path") and reports the span of a private mapping of exe
// without write permission.
func readOnlyImage(line, exe string) (lo, hi uint64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 6 || strings.Join(f[5:], " ") != exe {
		return 0, 0, false
	}
	perms := f[1]
	if len(perms) != 4 || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p' {
		return 0, 0, false
	}
	a, b, found := strings.Cut(f[0], "-")
	if !found {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(a, 16, 64)
	hi, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil || hi <= lo {
		return 0, 0, false
	}
	return lo, hi, true
}
