// Package create implements `kubectl argo rollouts create -f FILE`.
package create

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/get"
)

// Options of create.
type Options struct {
	*cli.Factory
	Files   []string
	Watch   bool
	NoColor bool

	rollouts *cli.Rollouts
}

// NewCmd returns the create command.
func NewCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a Rollout resource",
		Long: `Create Rollouts from a file.

Files may hold several documents; each must be a Rollout (Switchyard serves no
Experiment or AnalysisTemplate). Unknown fields are rejected.`,
		Example: `  # Create a rollout and watch it
  kubectl argo rollouts create -f my-rollout.yaml -w`,
		RunE: cli.RunE(o),
	}
	cmd.Flags().StringArrayVarP(&o.Files, "filename", "f", nil, "Files to use to create the resource")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "Watch live updates to the resource after creating")
	cmd.Flags().BoolVar(&o.NoColor, "no-color", false, "Do not colorize output")
	return cmd
}

// Complete builds the client.
func (o *Options) Complete(*cobra.Command, []string) error {
	var err error
	o.rollouts, _, err = o.RolloutsInNamespace()
	return err
}

// Validate requires at least one file.
func (o *Options) Validate() error {
	if len(o.Files) == 0 {
		return cli.Usagef("required flag -f/--filename not set")
	}
	return nil
}

// Run creates every Rollout of every file, then optionally watches the
// (single) one created.
func (o *Options) Run(cmd *cobra.Command) error {
	var docs []cli.Document
	for _, file := range o.Files {
		d, err := cli.ReadDocuments(file, o.In)
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		// Check the whole input before creating anything, so a bad
		// document does not leave half of a file applied.
		for _, doc := range d {
			if !doc.IsRollout() {
				gvk := doc.Object.GroupVersionKind()
				return fmt.Errorf("%s: document %d: creates of %s/%s unsupported", file, doc.Index, gvk.Group, gvk.Kind)
			}
			if _, err := cli.StrictRollout(doc); err != nil {
				return fmt.Errorf("%s: document %d: %w", file, doc.Index, err)
			}
		}
		docs = append(docs, d...)
	}
	if o.Watch && len(docs) != 1 {
		return cli.Usagef("cannot watch multiple resources")
	}
	var created string
	for _, doc := range docs {
		u, err := o.rollouts.Create(cmd.Context(), doc.Object)
		if err != nil {
			return err
		}
		created = u.GetName()
		fmt.Fprintf(o.Out, "rollout.argoproj.io/%s created\n", created)
	}
	if !o.Watch {
		return nil
	}
	g := &get.Options{Factory: o.Factory, Watch: true, NoColor: o.NoColor}
	return cli.RunE(g)(cmd, []string{created})
}
