package outfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func text(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func TestWriteRegularFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "run.json")
	if err := Write(p, nil, text("one")); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if b, _ := os.ReadFile(p); string(b) != "one" || fi.Mode().Perm() != FileMode {
		t.Errorf("new file: %q, mode %v; want \"one\", %v", b, fi.Mode().Perm(), FileMode)
	}
	// An existing file keeps the mode its owner gave it.
	os.Chmod(p, 0o640)
	if err := Write(p, nil, text("two")); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(p)
	if b, _ := os.ReadFile(p); string(b) != "two" || fi.Mode().Perm() != 0o640 {
		t.Errorf("replaced file: %q, mode %v; want \"two\", 0640", b, fi.Mode().Perm())
	}
	// A failed rendering leaves the earlier file whole, and no temporary.
	boom := errors.New("boom")
	err := Write(p, nil, func(w io.Writer) error { io.WriteString(w, "half"); return boom })
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want the renderer's", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Errorf("after a failed write the file holds %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestWriteSymlinkReplacesItsTarget(t *testing.T) {
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real.json"), filepath.Join(dir, "link.json")
	os.WriteFile(real, []byte("old"), 0o600)
	os.Symlink(real, link)
	if err := Write(link, nil, text("new")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&fs.ModeSymlink == 0 {
		t.Error("the link was replaced by a file")
	}
	if b, _ := os.ReadFile(real); string(b) != "new" {
		t.Errorf("target holds %q", b)
	}
}

// "-" and /dev/stdout are the stdout writer, never opened again.
func TestWriteStdout(t *testing.T) {
	var buf bytes.Buffer
	if err := Write("-", &buf, text("doc")); err != nil || buf.String() != "doc" {
		t.Errorf("err %v, stdout %q", err, buf.String())
	}
	for _, p := range []string{"-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"} {
		if !IsStdout(p) {
			t.Errorf("IsStdout(%q) = false", p)
		}
	}
}

// A link like /dev/stdout when standard output is a pipe (a link to
// /proc/self/fd/N, which names no file) is written through, and the link
// stays: renaming a temporary file over /dev/stdout as root would replace
// the system's link. The test makes its own such link.
func TestWriteLinkToPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	link := filepath.Join(t.TempDir(), "stdout")
	if err := os.Symlink(fmt.Sprintf("/proc/self/fd/%d", w.Fd()), link); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(link); err != nil {
		t.Skip("no /proc/self/fd here:", err)
	}
	got := make(chan string, 1)
	go func() { b, _ := io.ReadAll(r); got <- string(b) }()
	err = Write(link, nil, text("through the pipe"))
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Errorf("reader got %q", s)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link became %v", fi.Mode())
	}
}

// A link to a FIFO is written through: neither the link nor the FIFO is
// replaced.
func TestWriteLinkToFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo, link := filepath.Join(dir, "fifo"), filepath.Join(dir, "link")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	os.Symlink(fifo, link)
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- string(b)
	}()
	if err := Write(link, nil, text("via the link")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "via the link" {
		t.Errorf("reader got %q", s)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link became %v", fi.Mode())
	}
	if fi, _ := os.Lstat(fifo); fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the FIFO became %v", fi.Mode())
	}
}

// A FIFO is written through, not replaced by a regular file.
func TestWriteFIFOThrough(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	got := make(chan string)
	go func() {
		f, err := os.Open(p)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- string(b)
	}()
	if err := Write(p, nil, text("through the pipe")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Errorf("reader got %q", s)
	}
	if fi, _ := os.Lstat(p); fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the FIFO became %v", fi.Mode())
	}
}

// A device is written through: a full one (ENOSPC) is a one-line error
// naming the path, and the device is still a device afterwards. The test
// makes its own copy of /dev/full (root only), so a regression replaces
// that copy, never the system's.
func TestWriteFullDevice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "full")
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, int(1<<8|7)); err != nil {
		t.Skip("cannot make a device node (not root?):", err)
	}
	err := Write(p, nil, text(strings.Repeat("x", 100)))
	if err == nil || !strings.Contains(err.Error(), "cannot write "+p+": no space left on device") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v, want one line naming %s and ENOSPC", err, p)
	}
	if fi, _ := os.Lstat(p); fi.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("the device became %v", fi.Mode())
	}
	// /dev/null takes anything and stays what it is.
	if err := Write(os.DevNull, nil, text("gone")); err != nil {
		t.Errorf("/dev/null: %v", err)
	}
	if fi, _ := os.Lstat(os.DevNull); fi.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null became %v", fi.Mode())
	}
}

func TestWriteAndCheckRefuseDirectories(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []func(string) error{
		func(p string) error { return Write(p, nil, text("x")) },
		Check,
	} {
		if err := f(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
			t.Errorf("%s: err = %v", dir, err)
		}
	}
	missing := filepath.Join(dir, "no", "such", "run.json")
	if err := Check(missing); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Check(%s) = %v", missing, err)
	}
	if err := Check(filepath.Join(dir, "new.json")); err != nil {
		t.Errorf("a new file in an existing directory: %v", err)
	}
}
