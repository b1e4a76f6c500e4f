// Package pgtest starts a throwaway PostgreSQL cluster for tests, so the
// suites that need a real PostgreSQL (the store, the SQL step runner, the
// PostgreSQL watcher) run from a plain `go test ./...`.
//
// Start looks for the server binaries (STAMPEDE_PG_BINDIR, then
// /usr/lib/postgresql/*/bin, then pg_config and $PATH), runs initdb into a
// temporary directory and starts `postgres` on 127.0.0.1 and a free port,
// with Unix sockets, fsync and durability turned off: the cluster lives for
// one test binary and is deleted afterwards. PostgreSQL refuses to run as
// root, so when the test runs as root the cluster runs as the "postgres"
// user (created by the Debian packages) or, failing that, "nobody".
//
// Readiness is learnt from the server's own log line ("ready to accept
// connections") read through a pipe, not by sleeping and retrying.
//
// Options adjust the cluster: WithPreload loads server libraries at start
// (pg_stat_statements must be), WithSetting sets any other parameter. An
// existing server named by STAMPEDE_TEST_POSTGRES is used as it is
// configured; tests that depend on an option check for what they need.
//
// When STAMPEDE_TEST_POSTGRES holds a URL, that server is used instead and
// nothing is started; each test still gets a database of its own, so the
// role in the URL needs CREATEDB.
//
// Launch starts the same throwaway cluster for a program that is not a
// test (the comparison with pgbench in bench/peers), and Close removes it.
//
// A test that asks for PostgreSQL is skipped, with a message saying so, only
// when no PostgreSQL binaries exist at all; any other problem fails it.
// With STAMPEDE_REQUIRE_POSTGRES set, missing binaries fail it too, so a CI
// job cannot pass without having run the PostgreSQL suite.
package pgtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// EnvURL names the variable that points the tests at an existing server.
const EnvURL = "STAMPEDE_TEST_POSTGRES"

// EnvRequire names the variable that turns a missing PostgreSQL from a
// skip into a failure, for CI jobs that must run the PostgreSQL suite.
const EnvRequire = "STAMPEDE_REQUIRE_POSTGRES"

// EnvBinDir names the variable that points at a directory holding initdb
// and postgres.
const EnvBinDir = "STAMPEDE_PG_BINDIR"

// Server is a PostgreSQL server the tests may create databases in.
type Server struct {
	// URL connects to the maintenance database as a role that may create
	// databases.
	URL string

	mu sync.Mutex // guards n
	n  int
}

// Option adjusts a throwaway cluster.
type Option func(*config)

type config struct {
	settings [][2]string // -c name=value, in order; later ones win
}

// WithPreload sets shared_preload_libraries, e.g. "pg_stat_statements".
func WithPreload(libs ...string) Option {
	return WithSetting("shared_preload_libraries", strings.Join(libs, ","))
}

// WithSetting sets a server parameter (postgres -c name=value), such as
// max_connections or deadlock_timeout.
func WithSetting(name, value string) Option {
	return func(c *config) { c.settings = append(c.settings, [2]string{name, value}) }
}

// Start returns a running server for the lifetime of tb: the one named by
// STAMPEDE_TEST_POSTGRES, or a new throwaway cluster. It skips tb only when
// no PostgreSQL binaries can be found.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	srv, why := StartOrExplain(tb, opts...)
	if srv == nil {
		tb.Skip(why)
	}
	return srv
}

// StartOrExplain is Start for a test that has other work to do without
// PostgreSQL: instead of skipping tb it returns nil and why. Failing to
// start binaries that exist still fails tb.
func StartOrExplain(tb testing.TB, opts ...Option) (*Server, string) {
	tb.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return &Server{URL: u}, ""
	}
	bin, err := findBinDir(os.Getenv(EnvBinDir))
	if err != nil && os.Getenv(EnvRequire) != "" {
		tb.Fatalf("%s is set but PostgreSQL cannot be started: %v", EnvRequire, err)
	}
	if err != nil {
		return nil, fmt.Sprintf("SKIPPING PostgreSQL tests: %v (install PostgreSQL, e.g. apt-get install -y postgresql, set %s, or set %s=postgres://…)", err, EnvBinDir, EnvURL)
	}
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	c, err := startCluster(tb, bin, cfg)
	if err != nil {
		tb.Fatalf("cannot start a throwaway PostgreSQL from %s: %v", bin, err)
	}
	return c, ""
}

// NewDatabase creates an empty database for tb and returns its URL.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	name := fmt.Sprintf("t%d_%d_%s", os.Getpid(), n, sanitize(tb.Name()))
	if len(name) > 60 {
		name = name[:60]
	}
	cfg, err := pgx.ParseConfig(s.URL)
	if err != nil {
		tb.Fatalf("pgtest: bad server URL: %v", err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		tb.Fatalf("pgtest: cannot create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		db := stdlib.OpenDB(*cfg)
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			tb.Logf("pgtest: cannot drop database %s: %v", name, err)
		}
	})
	return withDatabase(s.URL, name)
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9_]+`)

func sanitize(s string) string {
	return unsafeChars.ReplaceAllString(strings.ToLower(s), "_")
}

// withDatabase replaces the database of a postgres:// URL.
func withDatabase(u, name string) string {
	head, query, _ := strings.Cut(u, "?")
	scheme, rest, _ := strings.Cut(head, "://")
	hostPart, _, _ := strings.Cut(rest, "/")
	out := scheme + "://" + hostPart + "/" + name
	if query != "" {
		out += "?" + query
	}
	return out
}

// findBinDir returns a directory holding initdb and postgres.
func findBinDir(override string) (string, error) {
	if override != "" {
		// An explicit directory is the only one tried.
		if isExecutable(filepath.Join(override, "initdb")) && isExecutable(filepath.Join(override, "postgres")) {
			return override, nil
		}
		return "", fmt.Errorf("no initdb and postgres in %s=%s", EnvBinDir, override)
	}
	var candidates []string
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versions, func(i, j int) bool { return pgMajor(versions[i]) > pgMajor(versions[j]) })
	candidates = append(candidates, versions...)
	if pc, err := exec.LookPath("pg_config"); err == nil {
		if out, err := exec.Command(pc, "--bindir").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, dir := range candidates {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres) found")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// runAs is the account the cluster runs under: nil for the current user,
// or the credential of an unprivileged account when running as root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, errors.New("running as root and no unprivileged account (postgres, nobody) to run PostgreSQL as")
}

func startCluster(tb testing.TB, bin string, cfg config) (*Server, error) {
	c, err := launch(bin, cfg)
	if err != nil {
		return nil, err
	}
	tb.Cleanup(c.Close)
	return &Server{URL: c.URL}, nil
}

// Cluster is a throwaway PostgreSQL started by Launch.
type Cluster struct {
	// URL connects to the maintenance database as the superuser.
	URL  string
	dir  string
	stop func()
}

// Launch starts a throwaway cluster for a program that is not a test (the
// comparison with pgbench): the cluster Start makes, found and started
// the same way, from binDir ("" looks where Start looks). Close stops it
// and deletes its directory.
func Launch(binDir string, opts ...Option) (*Cluster, error) {
	if binDir == "" {
		binDir = os.Getenv(EnvBinDir)
	}
	bin, err := findBinDir(binDir)
	if err != nil {
		return nil, err
	}
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	return launch(bin, cfg)
}

// Close asks for PostgreSQL's fast shutdown, waits for it and deletes the
// cluster's directory.
func (c *Cluster) Close() {
	c.stop()
	os.RemoveAll(c.dir)
}

func launch(bin string, cfg config) (c *Cluster, err error) {
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	base, err := os.MkdirTemp(tempRoot(cred), "stampede-pg-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(base)
		}
	}()
	if cred != nil {
		if err := os.Chown(base, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(base, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	prepare(initdb, base, cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// The free port is chosen before the server binds it, so another
	// process may take it in between; the server then says so and another
	// port is tried.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		stop, err := startServer(bin, base, data, port, cred, cfg)
		if err == nil {
			return &Cluster{URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), dir: base, stop: stop}, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			return nil, err
		}
	}
	return nil, lastErr
}

// tempRoot is where the cluster's directory goes: the usual temporary
// directory, unless the account the cluster runs as could not reach it
// (a TMPDIR under /root, say), then /tmp.
func tempRoot(cred *syscall.Credential) string {
	dir := os.TempDir()
	if cred == nil {
		return dir
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return dir
		}
	}
}

var errPortTaken = errors.New("port already in use")

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer runs postgres in the foreground of a child process and
// returns once it logged that it accepts connections, with the function
// that stops it.
func startServer(bin, base, data string, port int, cred *syscall.Credential, cfg config) (func(), error) {
	args := []string{"-D", data,
		"-p", strconv.Itoa(port), "-h", "127.0.0.1", "-k", "",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=60", "-c", "shared_buffers=16MB",
		"-c", "logging_collector=off", "-c", "log_min_messages=warning",
		"-c", "log_min_error_statement=panic"}
	for _, kv := range cfg.settings {
		args = append(args, "-c", kv[0]+"="+kv[1])
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	prepare(cmd, base, cred)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// Read the log until the server is ready or gives up; keep what it
	// said for the error message.
	var logBuf bytes.Buffer
	ready := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		logBuf.WriteString(line + "\n")
		if strings.Contains(line, "ready to accept connections") {
			ready = true
			break
		}
	}
	if !ready {
		// The log ended: the server exited.
		waitErr := cmd.Wait()
		if strings.Contains(logBuf.String(), "already in use") {
			return nil, fmt.Errorf("%w: %d", errPortTaken, port)
		}
		return nil, fmt.Errorf("postgres exited (%v):\n%s", waitErr, logBuf.String())
	}
	// Keep draining the log so the server never blocks on a full pipe.
	drained := make(chan struct{})
	go func() {
		io.Copy(io.Discard, stderr)
		close(drained)
	}()
	return func() {
		// SIGINT is PostgreSQL's "fast shutdown".
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { <-drained; done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}, nil
}

// prepare sets the working directory, environment and account of a
// PostgreSQL child process.
func prepare(cmd *exec.Cmd, dir string, cred *syscall.Credential) {
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	cmd.SysProcAttr = sysProcAttr(cred)
}

// Ping checks that a URL accepts connections; tests use it to fail early
// with a clear message.
func Ping(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	return db.PingContext(ctx)
}
