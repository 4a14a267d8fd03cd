// Package lint implements `kubectl argo rollouts lint`: validate Rollout
// manifests offline with the controller's own validation.
package lint

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/validation"
)

// Options of lint.
type Options struct {
	*cli.Factory
	// File is the manifest to lint; "-" reads standard input.
	File string
}

// NewCmd returns the lint command.
func NewCmd(f *cli.Factory) *cobra.Command {
	o := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "lint",
		Short: "Lint and validate a Rollout",
		Long: `Check Rollout manifests offline, before they are applied.

Every Rollout document of the file (other kinds are skipped) is checked with
the same validation the controller applies; each problem is printed with its
field path, and the command fails if there is any. Unknown fields are errors.`,
		Example: `  # Lint a rollout
  kubectl argo rollouts lint -f my-rollout.yaml`,
		RunE: cli.RunE(o),
	}
	cmd.Flags().StringVarP(&o.File, "filename", "f", "", "File to lint")
	return cmd
}

// Complete has nothing to fill in: lint needs no cluster.
func (o *Options) Complete(*cobra.Command, []string) error { return nil }

// Validate requires -f.
func (o *Options) Validate() error {
	if o.File == "" {
		return cli.Usagef("required flag -f/--filename not set")
	}
	return nil
}

// Run lints every Rollout document and prints each problem.
func (o *Options) Run(*cobra.Command) error {
	docs, err := cli.ReadDocuments(o.File, o.In)
	if err != nil {
		return fmt.Errorf("lint %s: %w", o.File, err)
	}
	problems := 0
	rollouts := 0
	several := countRollouts(docs) > 1
	for _, doc := range docs {
		if !doc.IsRollout() {
			continue
		}
		rollouts++
		// With several Rollouts in the file, say which one each line is about.
		where := ""
		if several {
			where = fmt.Sprintf("rollout '%s' (document %d): ", doc.Object.GetName(), doc.Index)
		}
		ro, err := cli.StrictRollout(doc)
		if err != nil {
			fmt.Fprintf(o.Out, "%s%v\n", where, err)
			problems++
			continue
		}
		for _, e := range validation.Rollout(ro) {
			fmt.Fprintf(o.Out, "%s%s\n", where, e.Error())
			problems++
		}
	}
	if rollouts == 0 {
		return fmt.Errorf("%s: no Rollout found", o.File)
	}
	if problems > 0 {
		return fmt.Errorf("%s: %d problem(s) found", o.File, problems)
	}
	return nil
}

func countRollouts(docs []cli.Document) int {
	n := 0
	for _, d := range docs {
		if d.IsRollout() {
			n++
		}
	}
	return n
}
