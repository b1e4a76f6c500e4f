package cli

import "github.com/spf13/cobra"

func newBaselineCmd(e *env) *cobra.Command {
	return &cobra.Command{Use: "baseline", Short: "(not yet available)", RunE: func(*cobra.Command, []string) error { return failed("baseline: not yet available") }}
}
