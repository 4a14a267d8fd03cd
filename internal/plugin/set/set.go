// Package set implements `kubectl argo rollouts set image`: change
// container images in a Rollout's pod template.
package set

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"

	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
)

// NewCmd returns `set` with its `image` subcommand.
func NewCmd(f *cli.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "set <image> ROLLOUT_NAME",
		Short: "Update various values on resources",
		Long:  "Change a field of a Rollout.",
		Example: `  # Set rollout image
  kubectl argo rollouts set image backend-canary backend-canary=registry.example.com/backend:v2`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return cli.Usagef("specify what to set: %q", "set image ROLLOUT_NAME CONTAINER=IMAGE")
		},
	}
	cmd.AddCommand(newImageCmd(f))
	return cmd
}

// ImageOptions of set image.
type ImageOptions struct {
	*cli.Factory
	name      string
	container string
	image     string
	rollouts  *cli.Rollouts
}

func newImageCmd(f *cli.Factory) *cobra.Command {
	o := &ImageOptions{Factory: f}
	return &cobra.Command{
		Use:   "image ROLLOUT_NAME CONTAINER=IMAGE",
		Short: "Update the image of a rollout",
		Long: `Update the image of a rollout.

CONTAINER names an init, ephemeral or regular container of the pod template;
'*' sets the image of every container.`,
		Example: `  # Set the image of the container named www
  kubectl argo rollouts set image my-rollout www=image:v2

  # Set the image of every container
  kubectl argo rollouts set image my-rollout '*=image:v2'`,
		RunE:              cli.RunE(o),
		ValidArgsFunction: f.CompleteRolloutNames,
	}
}

// Complete splits CONTAINER=IMAGE and builds the client.
func (o *ImageOptions) Complete(_ *cobra.Command, args []string) error {
	if len(args) != 2 {
		return cli.Usagef("expected ROLLOUT_NAME CONTAINER=IMAGE, got %d arguments", len(args))
	}
	o.name = args[0]
	var ok bool
	if o.container, o.image, ok = strings.Cut(args[1], "="); !ok {
		return cli.Usagef("expected CONTAINER=IMAGE, got %q", args[1])
	}
	var err error
	o.rollouts, _, err = o.RolloutsInNamespace()
	return err
}

// Validate rejects an empty container name or image.
func (o *ImageOptions) Validate() error {
	if o.container == "" || o.image == "" {
		return cli.Usagef("expected CONTAINER=IMAGE with both parts set")
	}
	return nil
}

// Run reads, edits and writes back the Rollout, starting over when someone
// else (usually the controller) changed it in between.
func (o *ImageOptions) Run(cmd *cobra.Command) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		return o.setImage(cmd.Context())
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "rollout %q image updated\n", o.name)
	return nil
}

func (o *ImageOptions) setImage(ctx context.Context) error {
	// The object is edited as unstructured so that a field Switchyard's
	// types do not know survives the round trip.
	u, err := o.rollouts.GetRaw(ctx, o.name)
	if err != nil {
		return err
	}
	found, err := SetImage(u, o.container, o.image)
	if err != nil {
		return fmt.Errorf("set image in rollout %s: %w", o.name, err)
	}
	if !found {
		return fmt.Errorf("unable to find container named %q", o.container)
	}
	if _, err := o.rollouts.Update(ctx, u); err != nil {
		return fmt.Errorf("update rollout %s: %w", o.name, err)
	}
	return nil
}

// SetImage sets the image of the containers named container ("*" for all)
// among the init, ephemeral and regular containers of u's pod template, and
// reports whether any matched.
func SetImage(u *unstructured.Unstructured, container, image string) (bool, error) {
	found := false
	for _, kind := range []string{"initContainers", "containers", "ephemeralContainers"} {
		path := []string{"spec", "template", "spec", kind}
		list, ok, err := unstructured.NestedSlice(u.Object, path...)
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		for i, c := range list {
			m, ok := c.(map[string]any)
			if !ok {
				return false, fmt.Errorf("%s[%d] is not an object", strings.Join(path, "."), i)
			}
			if container == "*" || m["name"] == container {
				m["image"] = image
				found = true
			}
		}
		if err := unstructured.SetNestedSlice(u.Object, list, path...); err != nil {
			return false, err
		}
	}
	return found, nil
}
