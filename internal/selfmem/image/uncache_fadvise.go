//go:build linux && (amd64 || arm64 || riscv64 || loong64 || ppc64 || ppc64le)

package image

import (
	"errors"
	"os"
	"syscall"
)

// uncaches is whether Uncache lets go of the page cache's pages here.
const uncaches = true

// posixFadvDontneed is POSIX_FADV_DONTNEED on these architectures (s390x
// numbers it otherwise).
const posixFadvDontneed = 4

// errFadvise wraps the errno of a refused posix_fadvise.
var errFadvise = errors.New("posix_fadvise of the executable")

// uncacheExecutable asks the kernel to drop the executable's pages from
// the page cache. The kernel keeps those some process maps, so a program
// running from the same file loses nothing it holds; the others are read
// again from the file when touched. It keeps dirty pages too, and a
// binary just built is dirty until the kernel writes it back (up to
// half a minute), so the file is written out first: at once if it is
// clean, the writing it was due otherwise.
func uncacheExecutable() error {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	defer f.Close()
	_ = syscall.Fdatasync(int(f.Fd())) // a file system that cannot sync is left to the kernel

	// On these 64-bit systems the call takes fd, offset, length, advice;
	// a length of 0 is "to the end".
	if _, _, e := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, posixFadvDontneed, 0, 0); e != 0 {
		return errors.Join(errFadvise, e)
	}
	return nil
}
