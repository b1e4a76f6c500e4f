package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/stampede-perf/stampede/internal/redact"
	"github.com/stampede-perf/stampede/store"
)

// storeFlagUsage is the help of every --store flag.
const storeFlagUsage = "run history: a SQLite file or a postgres://… URL (default $STAMPEDE_STORE, else .stampede/history.db next to the plan or in the current directory)"

// addStoreFlag registers --store on fs.
func addStoreFlag(fs *pflag.FlagSet, dsn *string) {
	fs.StringVar(dsn, "store", "", storeFlagUsage)
}

// storeDSN is where a command's history lives: the --store flag, else the
// environment, else next to planFile ("" for ad-hoc runs: the current
// directory).
func storeDSN(e *env, planFile, flag string) string {
	if strings.TrimSpace(flag) != "" {
		return flag
	}
	return store.DefaultDSN(planFile, e.getenv)
}

// openStore opens (creating if needed) the run history for a command that
// records runs. A location that cannot be used is invalid input (exit 2).
// Runs left unfinished by a crashed stampede are recovered on the way and
// reported on stderr. The caller closes the store.
func openStore(e *env, planFile, flag string) (*store.Store, error) {
	return openStoreAt(context.Background(), e, storeDSN(e, planFile, flag))
}

// openHistory opens an existing run history for a command that only reads
// it; a SQLite file that does not exist yet is reported rather than
// created.
func openHistory(ctx context.Context, e *env, flag string) (*store.Store, error) {
	dsn := storeDSN(e, "", flag)
	if !store.IsPostgres(dsn) && !strings.Contains(dsn, "://") {
		if _, err := os.Stat(dsn); errors.Is(err, os.ErrNotExist) {
			return nil, invalidf("no run history at %s yet: runs are recorded there by stampede run and stampede test (or pass --store, or set %s)", redact.String(dsn), store.EnvStore)
		}
	}
	return openStoreAt(ctx, e, dsn)
}

func openStoreAt(ctx context.Context, e *env, dsn string) (*store.Store, error) {
	s, err := store.Open(ctx, dsn)
	if err != nil {
		// Drivers report every address tried on its own line: one line.
		return nil, invalid(errors.New(strings.Join(strings.Fields(err.Error()), " ")))
	}
	if ids := s.Recovered(); len(ids) > 0 {
		fmt.Fprintf(e.stderr, "stampede: recovered %d unfinished run(s) as aborted: %s\n", len(ids), strings.Join(ids, ", "))
	}
	if err := s.RecoverErr(); err != nil {
		fmt.Fprintf(e.stderr, "stampede: warning: some unfinished runs could not be recovered and stay as they are: %s\n", strings.Join(strings.Fields(err.Error()), " "))
	}
	return s, nil
}

// storeErr classifies an error from the store: a missing or unusable run
// is invalid input (exit 2), like any other failure to read history.
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	var xe *exitError
	if errors.As(err, &xe) {
		return err
	}
	return invalid(err)
}
