package cli

import "github.com/spf13/cobra"

func newCompareCmd(e *env) *cobra.Command {
	return &cobra.Command{Use: "compare", Short: "(not yet available)", RunE: func(*cobra.Command, []string) error { return failed("compare: not yet available") }}
}
