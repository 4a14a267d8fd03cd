// Package lint implements `kubectl argo rollouts lint`: validate Rollout
// manifests offline with the controller's own validation.
package lint

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/rolloutanalysis"
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
field path, and the command fails if there is any. Unknown fields are errors.

An analysis whose AnalysisTemplates (or ClusterAnalysisTemplates) are in the
same file is checked against them as the controller checks it: missing
arguments, invalid metrics, templates that do not merge, step and blue-green
analyses that never end. Templates not in the file are not looked up.`,
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
	templates, err := templatesIn(docs)
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
		errs := validation.Rollout(ro)
		if len(errs) == 0 {
			errs = templates.check(ro)
		}
		for _, e := range errs {
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

// fileTemplates are the AnalysisTemplates and ClusterAnalysisTemplates of
// the linted file, by name: lint looks nothing up in a cluster.
type fileTemplates struct {
	namespaced map[string]*v1alpha1.AnalysisTemplate
	cluster    map[string]*v1alpha1.ClusterAnalysisTemplate
}

// errNotInFile is a template the file does not hold: it may exist in the
// cluster, so the analysis naming it is not checked.
var errNotInFile = errors.New("template not in the file")

func templatesIn(docs []cli.Document) (*fileTemplates, error) {
	t := &fileTemplates{namespaced: map[string]*v1alpha1.AnalysisTemplate{}, cluster: map[string]*v1alpha1.ClusterAnalysisTemplate{}}
	for _, doc := range docs {
		gvk := doc.Object.GroupVersionKind()
		if gvk.Group != v1alpha1.GroupVersion.Group {
			continue
		}
		switch gvk.Kind {
		case "AnalysisTemplate":
			at := &v1alpha1.AnalysisTemplate{}
			if err := yaml.UnmarshalStrict(doc.JSON, at); err != nil {
				return nil, fmt.Errorf("AnalysisTemplate '%s' (document %d): %w", doc.Object.GetName(), doc.Index, err)
			}
			t.namespaced[at.Name] = at
		case "ClusterAnalysisTemplate":
			ct := &v1alpha1.ClusterAnalysisTemplate{}
			if err := yaml.UnmarshalStrict(doc.JSON, ct); err != nil {
				return nil, fmt.Errorf("ClusterAnalysisTemplate '%s' (document %d): %w", doc.Object.GetName(), doc.Index, err)
			}
			t.cluster[ct.Name] = ct
		}
	}
	return t, nil
}

func (t *fileTemplates) AnalysisTemplate(_ context.Context, _, name string) (*v1alpha1.AnalysisTemplate, error) {
	if at, ok := t.namespaced[name]; ok {
		return at, nil
	}
	return nil, errNotInFile
}

func (t *fileTemplates) ClusterAnalysisTemplate(_ context.Context, name string) (*v1alpha1.ClusterAnalysisTemplate, error) {
	if ct, ok := t.cluster[name]; ok {
		return ct, nil
	}
	return nil, errNotInFile
}

// check checks the Rollout's analyses whose templates are all in the file.
func (t *fileTemplates) check(ro *v1alpha1.Rollout) field.ErrorList {
	var errs field.ErrorList
	for _, spec := range rolloutanalysis.Specs(ro) {
		found, err := rolloutanalysis.Check(context.Background(), t, ro, spec)
		if err != nil {
			continue // errNotInFile: left to the controller
		}
		errs = append(errs, found...)
	}
	return errs
}
