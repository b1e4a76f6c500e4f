package plan

import (
	"path/filepath"
	"strings"
)

// MaxPathBytes bounds a path a plan names (system.disk).
const MaxPathBytes = 4096

// resolveSystemDisk makes a relative system.disk relative to the plan
// file's directory, and absolute, as the feeders' files are.
func resolveSystemDisk(p *Plan, file string) {
	if file == "" || p.System == nil || p.System.Disk == "" || filepath.IsAbs(p.System.Disk) {
		return
	}
	path := filepath.Join(filepath.Dir(file), p.System.Disk)
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	p.System.Disk = path
}

// systemDisk checks system.disk: a path, bounded, that the probe can
// write in. Whether it exists is the run's to find out (a plan may be
// checked on another machine): a missing directory is a warning then.
func (c *checker) systemDisk(dir string) {
	switch {
	case dir == "":
	case len(dir) > MaxPathBytes:
		c.add("system.disk", "a path of at most %d bytes, got %d", MaxPathBytes, len(dir))
	case strings.ContainsRune(dir, 0):
		c.add("system.disk", "a directory path, without NUL bytes")
	}
}
