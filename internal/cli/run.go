package cli

import "github.com/spf13/cobra"

func newRunCmd(e *env) *cobra.Command {
	return &cobra.Command{Use: "run", Short: "(not yet available)", RunE: func(*cobra.Command, []string) error { return failed("run: not yet available") }}
}
