package cli

import (
	"io"
	"regexp"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stampede-perf/stampede/kube"
	"github.com/stampede-perf/stampede/store"
)

func newKubernetesCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "kubernetes",
		Short: "Run a distributed test on Kubernetes",
		Args:  cobra.NoArgs,
	}
	c.AddCommand(newManifestCmd(e))
	return c
}

// planEnv finds the ${NAME}s a plan expands: they come from a Secret.
var planEnv = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func newManifestCmd(e *env) *cobra.Command {
	var o kube.Options
	var storeDSN, out string
	c := &cobra.Command{
		Use:   "manifest PLAN --agents N --image IMAGE",
		Short: "Print the Kubernetes objects that run PLAN over N agents",
		Long: `Print a ConfigMap (the plan and its data files), a coordinator Job and its
Service, and an Indexed Job of N agents (each agent's part is its
JOB_COMPLETION_INDEX), ready for kubectl apply -f -.

  stampede kubernetes manifest plan.yaml --agents 4 --image registry.example.com/stampede:0.1.0 | kubectl apply -f -

Secrets are referenced, never written: the agents' token (Secret
NAME-token, key token), the history's DSN with --store (Secret
NAME-store, key dsn) and every ${VAR} the plan expands (Secret NAME-env).
The manifest's first lines say how to create them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var lf loadFlags
			own := pflag.NewFlagSet("load", pflag.ContinueOnError)
			lf.register(own)
			if _, err := lf.plan(e, args, own); err != nil {
				return err
			}
			job, err := buildJob(args[0], own, false)
			if err != nil {
				return invalid(err)
			}
			o.PlanName, o.Plan = job.PlanName, job.PlanYAML
			for _, f := range job.Files {
				o.Files = append(o.Files, kube.File{Path: f.Path, Data: f.Data})
			}
			for _, m := range planEnv.FindAllStringSubmatch(string(job.PlanYAML), -1) {
				o.Env = append(o.Env, m[1])
			}
			if storeDSN != "" {
				if !store.IsPostgres(storeDSN) {
					return invalidf("--store: a pod's files go with it: give a postgres:// history (its DSN goes in a Secret, not in the manifest)")
				}
				o.Store = true
			}
			y, err := kube.Manifest(o)
			if err != nil {
				return invalid(err)
			}
			return writeOutput(e, out, func(w io.Writer) error { _, err := w.Write(y); return err })
		},
	}
	fs := c.Flags()
	fs.IntVar(&o.Agents, "agents", 0, "how many agents (pods of the Indexed Job)")
	fs.StringVar(&o.Image, "image", "", "the stampede container `IMAGE` (see Containerfile)")
	fs.StringVar(&o.Namespace, "namespace", "", "the namespace of every object (default: kubectl's)")
	fs.StringVar(&o.Name, "name", "stampede", "prefix of every object's name")
	fs.StringVar(&storeDSN, "store", "", "record the run in this PostgreSQL history (the manifest refers to a Secret holding the DSN)")
	fs.StringVar(&o.AgentCPU, "agent-cpu", "1", "each agent's CPU request")
	fs.StringVar(&o.AgentMemory, "agent-memory", "1Gi", "each agent's memory request and limit")
	fs.StringVarP(&out, "output", "o", "-", "write the manifest to `FILE`")
	return c
}
