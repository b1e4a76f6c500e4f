package cli

import "github.com/spf13/cobra"

func newHistoryCmd(e *env) *cobra.Command {
	return &cobra.Command{Use: "history", Short: "(not yet available)", RunE: func(*cobra.Command, []string) error { return failed("history: not yet available") }}
}
