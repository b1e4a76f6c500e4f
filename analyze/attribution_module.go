package analyze

import (
	"cmp"
	"debug/buildinfo"
	"fmt"
	"slices"
	"strings"

	"github.com/google/pprof/profile"

	"github.com/stampede-perf/stampede/result"
)

// Own code is what the developer of the system under test can change:
// the packages of its main module. The best witness is the Go build
// information of the executable (ReadModule), which names the main
// module and every dependency module. Without it (an executable that is
// gone, or from another machine) the profile's source file names tell
// them apart nearly as well: a dependency's files are in the module
// cache ("…/pkg/mod/example.com/lib@v1.2.3/x.go", or with -trimpath
// "example.com/lib@v1.2.3/x.go") or under a vendor directory, while the
// main module's files are not. The standard library is never own code,
// and neither is a function with no package (a bare address).

// ownCode decides which functions are the program's own.
type ownCode struct {
	main string   // the main module's path; "" when unknown
	deps []string // dependency module paths, longest first
}

// newOwnCode reads a Module; nil gives the file-name rule alone.
func newOwnCode(m *result.Module) ownCode {
	var o ownCode
	if m == nil {
		return o
	}
	if m.Path != "command-line-arguments" { // `go run file.go` has no module
		o.main = m.Path
	}
	o.deps = slices.Clone(m.Deps)
	slices.SortFunc(o.deps, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return o
}

// within reports whether pkg is module mod or one of its packages.
func within(pkg, mod string) bool {
	return pkg == mod || strings.HasPrefix(pkg, mod+"/")
}

// own reports whether function name, defined in source file file ("" when
// unknown), is the program's own code.
func (o ownCode) own(name, file string) bool {
	pkg, _ := splitFuncName(name)
	switch {
	case pkg == "":
		return false
	case pkg == "main" || strings.HasPrefix(pkg, "main."):
		return true
	}
	// The longest module holding pkg is its module: one nested in
	// another is a module of its own.
	inMain := o.main != "" && within(pkg, o.main)
	for _, d := range o.deps { // longest first
		if within(pkg, d) && (!inMain || len(d) > len(o.main)) {
			return false
		}
	}
	if inMain {
		return true
	}
	if o.main != "" || isStdlib(pkg) {
		// The build information names every module of the program:
		// a package outside the main module is not own code.
		return false
	}
	return !isDependencyFile(file)
}

// isDependencyFile reports a source file from the module cache or a
// vendor directory.
func isDependencyFile(file string) bool {
	file = strings.ReplaceAll(file, `\`, "/")
	if strings.Contains(file, "/pkg/mod/") || strings.Contains(file, "/vendor/") || strings.HasPrefix(file, "vendor/") {
		return true
	}
	// -trimpath names a dependency's files module@version/path.
	at := strings.Index(file, "@v")
	return at > 0 && at+2 < len(file) && file[at+2] >= '0' && file[at+2] <= '9'
}

// ReadModule reads the Go build information of the executable at path:
// the main module and the dependency modules (their replacements when
// replaced, the paths the symbols carry being the originals).
func ReadModule(path string) (*result.Module, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read build information of %s: %w", path, err)
	}
	m := &result.Module{Path: bi.Main.Path, GoVersion: bi.GoVersion, Source: "buildinfo " + path}
	if m.Path == "" && bi.Path != "" && bi.Path != "command-line-arguments" {
		m.Path = bi.Path // a test binary names its package, not its module
	}
	for _, d := range bi.Deps {
		m.Deps = append(m.Deps, d.Path)
	}
	slices.Sort(m.Deps)
	return m, nil
}

// moduleOf finds the build information of the system under test: its
// running executable (/proc/PID/exe) when the watch followed a process
// still alive, else the main binary the CPU profile names. nil when
// neither can be read: own code is then told by file names.
func moduleOf(sys *result.System, cpu *profile.Profile) *result.Module {
	var paths []string
	if sys.Process != nil && sys.Process.PID > 0 && !sys.Process.Exited {
		paths = append(paths, fmt.Sprintf("/proc/%d/exe", sys.Process.PID))
	}
	if cpu != nil && len(cpu.Mapping) > 0 && cpu.Mapping[0].File != "" {
		paths = append(paths, cpu.Mapping[0].File)
	}
	for _, p := range paths {
		if m, err := ReadModule(p); err == nil && (cpu == nil || namesModule(cpu, m.Path)) {
			return m
		}
	}
	return nil
}

// namesModule reports whether a profile has a function of module mod or
// of package main: a file at the profile's path on this machine may be
// another program than the one profiled.
func namesModule(p *profile.Profile, mod string) bool {
	for _, f := range p.Function {
		pkg, _ := splitFuncName(f.Name)
		if pkg == "main" || (mod != "" && within(pkg, mod)) {
			return true
		}
	}
	return false
}
