package cli

import "github.com/spf13/cobra"

func newDemoCmd(e *env) *cobra.Command {
	return &cobra.Command{Use: "demo", Short: "(not yet available)", RunE: func(*cobra.Command, []string) error { return failed("demo: not yet available") }}
}
