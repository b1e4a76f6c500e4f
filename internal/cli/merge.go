package cli

import "github.com/spf13/cobra"

func newMergeCmd(e *env) *cobra.Command {
	return &cobra.Command{Use: "merge", Short: "(not yet available)", RunE: func(*cobra.Command, []string) error { return failed("merge: not yet available") }}
}
