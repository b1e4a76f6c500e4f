package demo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
)

// The planted faults, as named in [Options.Faults] and on the command line.
const (
	FaultLeak    = "leak"
	FaultHotspot = "hotspot"
	FaultLock    = "lock"
)

// validFaults is the list quoted by the unknown-fault error.
const validFaults = FaultLeak + ", " + FaultHotspot + ", " + FaultLock

// ErrUnknownFault is wrapped by the error for a fault name that is not one
// of [FaultLeak], [FaultHotspot] or [FaultLock].
var ErrUnknownFault = errors.New("unknown fault")

// Defaults for [Options].
const (
	DefaultProducts = 200
	DefaultUsers    = 1000
)

// Options configure a [Shop]. The zero value is a healthy shop with the
// default catalogue in a temporary database.
type Options struct {
	// DBPath is the SQLite file. "" uses a fresh temporary directory that
	// Close removes. An existing file that already holds a shop is reused
	// as it is (it is seeded only when it has no users).
	DBPath string
	// Faults lists planted faults to switch on: "leak", "hotspot", "lock".
	Faults []string
	// Products and Users size the seeded catalogue and customer base
	// (defaults 200 and 1000).
	Products int
	Users    int
	// Logf, if set, receives startup notes and server-side errors (the
	// causes behind 500 responses). It must be safe for concurrent use.
	Logf func(format string, args ...any)
	// GRPCAddr, if set, is where [Start] also serves the catalogue over
	// gRPC ("127.0.0.1:0" picks a free port; [Server.GRPCAddr] tells which).
	GRPCAddr string
}

// faults is the parsed form of Options.Faults.
type faults struct {
	leak, hotspot, lock bool
}

// Shop is the demo shop. Its handler and methods are safe for concurrent
// use; Close must come after the handler has stopped serving.
type Shop struct {
	logf   func(string, ...any)
	faults faults

	rdb, wdb *sql.DB // read-only pool; single-connection write pool
	st       statements
	tmpDir   string // removed by Close when the shop made it

	products int64 // number of products; fixed while the shop runs

	sessions sync.Map // token (string) → user id (int64)
	byUser   sync.Map // user id (int64) → token (string)

	handler http.Handler
	metrics *requestMetrics

	leak  leakStore  // the leak fault's retained memory
	audit auditState // the lock fault's shop-wide mutex
	live  liveFeeds  // open WebSocket stock feeds

	prevMutexFraction int // restored by Close when the lock fault set profiling rates

	closeOnce sync.Once
	closeErr  error
}

// ParseFaults parses a comma-separated fault list such as
// "leak,hotspot,lock". Spaces around names are ignored, duplicates are
// dropped, and "" means no faults.
func ParseFaults(s string) ([]string, error) {
	var out []string
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if err := checkFault(name); err != nil {
			return nil, err
		}
		if !containsString(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

func checkFault(name string) error {
	switch name {
	case FaultLeak, FaultHotspot, FaultLock:
		return nil
	}
	return fmt.Errorf("%w %q (valid faults: %s)", ErrUnknownFault, name, validFaults)
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func parseFaultList(names []string) (faults, error) {
	var f faults
	for _, name := range names {
		if err := checkFault(name); err != nil {
			return faults{}, err
		}
		switch name {
		case FaultLeak:
			f.leak = true
		case FaultHotspot:
			f.hotspot = true
		case FaultLock:
			f.lock = true
		}
	}
	return f, nil
}

// New opens (or creates) the shop's database, creates the schema, seeds the
// deterministic catalogue and users when the database is empty, and builds
// the HTTP handler. ctx bounds the setup only; the shop lives until Close.
func New(ctx context.Context, o Options) (*Shop, error) {
	f, err := parseFaultList(o.Faults)
	if err != nil {
		return nil, fmt.Errorf("cannot start demo shop: %w", err)
	}
	if o.Products < 0 || o.Users < 0 {
		return nil, fmt.Errorf("cannot start demo shop: products (%d) and users (%d) must not be negative", o.Products, o.Users)
	}
	if o.Products == 0 {
		o.Products = DefaultProducts
	}
	if o.Users == 0 {
		o.Users = DefaultUsers
	}
	s := &Shop{logf: o.Logf, faults: f}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}

	path := o.DBPath
	if path == "" {
		dir, err := os.MkdirTemp("", "stampede-demo-*")
		if err != nil {
			return nil, fmt.Errorf("cannot create demo shop database directory: %w", err)
		}
		s.tmpDir = dir
		path = dir + string(os.PathSeparator) + "shop.db"
	}
	if err := s.openDB(ctx, path, o.Products, o.Users); err != nil {
		return nil, errors.Join(err, s.closeResources())
	}
	s.metrics = newMetrics()
	s.handler = s.routes()
	if f.lock {
		// Process-wide settings: only the lock fault needs them, and they
		// cost a little on every contended lock and blocking event.
		s.prevMutexFraction = runtime.SetMutexProfileFraction(5)
		runtime.SetBlockProfileRate(10000)
	}
	planted := "none"
	if names := faultNames(f); len(names) > 0 {
		planted = strings.Join(names, ", ")
	}
	s.logf("demo shop: %d products, database %s, planted faults: %s", s.products, path, planted)
	return s, nil
}

func faultNames(f faults) []string {
	var out []string
	if f.leak {
		out = append(out, FaultLeak)
	}
	if f.hotspot {
		out = append(out, FaultHotspot)
	}
	if f.lock {
		out = append(out, FaultLock)
	}
	return out
}

// Handler returns the shop's HTTP handler (the same one every call).
func (s *Shop) Handler() http.Handler { return s.handler }

// Close closes the database, removes a temporary database directory, drops
// the leak fault's retained memory and restores the runtime profiling rates
// the lock fault changed. Calling it again returns the first result.
func (s *Shop) Close() error {
	s.closeOnce.Do(func() {
		if s.faults.lock {
			runtime.SetMutexProfileFraction(s.prevMutexFraction)
			runtime.SetBlockProfileRate(0)
		}
		s.leak.release()
		s.live.close()
		s.closeErr = s.closeResources()
	})
	return s.closeErr
}

func (s *Shop) closeResources() error {
	var errs []error
	errs = append(errs, s.st.close())
	for _, db := range []*sql.DB{s.rdb, s.wdb} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	if s.tmpDir != "" {
		errs = append(errs, os.RemoveAll(s.tmpDir))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cannot close demo shop: %w", err)
	}
	return nil
}
