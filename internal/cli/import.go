package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"mvdan.cc/sh/v3/syntax"

	"github.com/stampede-perf/stampede/importer"
	"github.com/stampede-perf/stampede/importer/curl"
	"github.com/stampede-perf/stampede/importer/har"
	"github.com/stampede-perf/stampede/importer/openapi"
	"github.com/stampede-perf/stampede/internal/outfile"
)

func newImportCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "import",
		Short: "Write a plan from a curl command, a recorded browser session (HAR) or an OpenAPI description",
		Long: `Writes a plan to start from: it validates as it is, and comments mark
what a person must decide (how much load, which values to feed).

  stampede import curl 'curl -H "Accept: application/json" https://api.test/items'
  stampede import har session.har -o plan.yaml
  stampede import openapi api.yaml -o plan.yaml    (also writes plan-params.csv)

Exit codes: 0 written · 2 invalid input (the error names the file, line
and column, or the flag).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return invalidf("import: say curl, har or openapi (see 'stampede import --help')")
		},
	}
	c.AddCommand(newImportCurlCmd(e), newImportHARCmd(e), newImportOpenAPICmd(e))
	return c
}

func newImportCurlCmd(e *env) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "curl 'curl …'",
		Short: "A one-step plan from a curl command line (quoted as one argument, or after --; - reads it from stdin)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			line := args[0]
			switch {
			case len(args) > 1:
				// Split by the shell already (after --): quote the words again.
				words := make([]string, len(args))
				for i, a := range args {
					q, err := syntax.Quote(a, syntax.LangBash)
					if err != nil {
						return invalidf("import curl: argument %d: %v", i+1, err)
					}
					words[i] = q
				}
				line = strings.Join(words, " ")
			case line == "-":
				b, err := io.ReadAll(io.LimitReader(e.stdin, curl.MaxLine+1))
				if err != nil {
					return invalidf("import curl: cannot read stdin: %v", err)
				}
				line = strings.TrimSpace(string(b))
			}
			if first := strings.Fields(line); len(first) > 0 && (strings.HasPrefix(first[0], "-") || strings.Contains(first[0], "://")) {
				line = "curl " + line // the URL and flags alone
			}
			p, err := curl.Import(line)
			if err != nil {
				return invalid(err)
			}
			return writePlan(e, p, out, nil, "")
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "-", "write the plan to `FILE` (- for stdout)")
	return c
}

func newImportHARCmd(e *env) *cobra.Command {
	var out string
	var o har.Options
	c := &cobra.Command{
		Use:   "har FILE",
		Short: "A plan from a recorded browser session (HAR): pages, think times, correlated values (- reads stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var r io.Reader = e.stdin
			name := "stdin"
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return invalidf("import har: %v", err)
				}
				defer f.Close()
				r, name = f, args[0]
			}
			p, err := har.Read(r, name, o)
			if err != nil {
				return invalid(err)
			}
			return writePlan(e, p, out, nil, "")
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "-", "write the plan to `FILE` (- for stdout)")
	c.Flags().BoolVar(&o.KeepStatic, "keep-static", false, "keep style sheets, scripts, images, fonts and media")
	return c
}

func newImportOpenAPICmd(e *env) *cobra.Command {
	var out, data string
	c := &cobra.Command{
		Use:   "openapi FILE",
		Short: "A plan from an OpenAPI 3.x description: a scenario per tag, path parameters from a data file",
		Long: `A plan from an OpenAPI 3.x description (YAML or JSON): one scenario per
tag, one step per operation, example or schema-generated bodies. Path
parameters read columns of a data file; a stub with one row of examples
is written beside the plan (PLAN-params.csv, or --data), and an existing
file of that name is kept as it is.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dataPath := data
			if dataPath == "" {
				stem := strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0]))
				dir := "."
				if !outfile.IsStdout(out) {
					stem = strings.TrimSuffix(filepath.Base(out), filepath.Ext(out))
					dir = filepath.Dir(out)
				}
				dataPath = filepath.Join(dir, stem+"-params.csv")
			}
			// The plan names the data file relative to itself.
			rel := dataPath
			if !outfile.IsStdout(out) {
				if r, err := filepath.Rel(filepath.Dir(out), dataPath); err == nil {
					rel = r
				}
			}
			res, err := openapi.Import(args[0], filepath.ToSlash(rel))
			if err != nil {
				return invalid(err)
			}
			return writePlan(e, res.Plan, out, res.Data, dataPath)
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "-", "write the plan to `FILE` (- for stdout)")
	c.Flags().StringVar(&data, "data", "", "write the path parameters' data file stub to `FILE` (default: beside the plan, PLAN-params.csv)")
	return c
}

// writePlan renders p (validating it) and writes it to out, and the data
// file stub to dataPath unless a file is there already.
func writePlan(e *env, p *importer.Plan, out string, data []byte, dataPath string) error {
	name := out
	if outfile.IsStdout(out) {
		name = "imported.yaml"
	}
	doc, err := importer.Write(p, name)
	if err != nil {
		return invalid(err)
	}
	if err := outfile.Check(out); err != nil {
		return invalid(err)
	}
	if data != nil {
		switch _, err := os.Stat(dataPath); {
		case err == nil:
			fmt.Fprintf(e.stderr, "kept %s as it is (the plan reads its columns; see the comment under data:)\n", dataPath)
		case errors.Is(err, os.ErrNotExist):
			if err := outfile.Write(dataPath, e.stdout, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
				return invalid(err)
			}
			fmt.Fprintf(e.stderr, "wrote %s: one row of example path parameters, to fill\n", dataPath)
		default:
			return invalidf("cannot write %s: %v", dataPath, err)
		}
	}
	if err := outfile.Write(out, e.stdout, func(w io.Writer) error { _, err := io.Copy(w, bytes.NewReader(doc)); return err }); err != nil {
		return invalid(err)
	}
	steps := 0
	for _, s := range p.Scenarios {
		steps += len(s.Steps)
	}
	if !outfile.IsStdout(out) {
		fmt.Fprintf(e.stderr, "wrote %s: %d scenario(s), %d step(s); read its \"Decide:\" comments, then: stampede run %s\n", out, len(p.Scenarios), steps, out)
	}
	return nil
}
