package zoo_test

import (
	"os"
	"testing"

	"github.com/stampede-perf/stampede/internal/zoo"
)

// TestMain lets the test binary serve a zoo service when started with
// zoo.ServiceEnv set: the end-to-end tests run each service in a child
// process of their own without building the zoo binary.
func TestMain(m *testing.M) {
	zoo.MaybeServe()
	os.Exit(m.Run())
}
