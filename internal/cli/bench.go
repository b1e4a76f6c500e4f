package cli

import "github.com/spf13/cobra"

func newBenchCmd(e *env) *cobra.Command {
	return &cobra.Command{Use: "bench", Short: "(not yet available)", RunE: func(*cobra.Command, []string) error { return failed("bench: not yet available") }}
}
