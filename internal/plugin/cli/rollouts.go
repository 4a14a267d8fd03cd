package cli

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// RolloutGVR is the Rollout resource, served by Switchyard's or Argo's CRD.
var RolloutGVR = v1alpha1.GroupVersion.WithResource("rollouts")

// Rollouts reads and writes Rollouts in one namespace through the dynamic
// client, handing typed objects to callers that only read.
type Rollouts struct {
	client    dynamic.Interface
	Namespace string
}

// NewRollouts returns a Rollout client for ns ("" = all namespaces, for List).
func NewRollouts(client dynamic.Interface, ns string) *Rollouts {
	return &Rollouts{client: client, Namespace: ns}
}

func (r *Rollouts) resource() dynamic.ResourceInterface {
	if r.Namespace == "" {
		return r.client.Resource(RolloutGVR)
	}
	return r.client.Resource(RolloutGVR).Namespace(r.Namespace)
}

// Get returns the named Rollout. API errors are returned unwrapped: the
// server's message (`rollouts.argoproj.io "x" not found`, `... is
// forbidden: User ...`) already names the object and is what users of
// Argo's plugin see and scripts match on.
func (r *Rollouts) Get(ctx context.Context, name string) (*v1alpha1.Rollout, error) {
	u, err := r.GetRaw(ctx, name)
	if err != nil {
		return nil, err
	}
	return FromUnstructured(u)
}

// GetRaw returns the named Rollout as the server sent it.
func (r *Rollouts) GetRaw(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	return r.resource().Get(ctx, name, metav1.GetOptions{})
}

// Patch sends a patch to the Rollout's main resource.
func (r *Rollouts) Patch(ctx context.Context, name string, pt types.PatchType, data []byte) (*v1alpha1.Rollout, error) {
	u, err := r.resource().Patch(ctx, name, pt, data, metav1.PatchOptions{})
	if err != nil {
		return nil, err
	}
	return FromUnstructured(u)
}

// PatchStatus sends a merge patch to the status subresource. Clients write
// status fields (abort, pauseConditions, promoteFull) there because a patch
// of the main resource drops status when the CRD has the subresource. On a
// 404 from the subresource (a CRD without it, as with Argo Rollouts v0.9)
// fallback, if not nil, is sent to the main resource instead; a 404 from
// that is a missing Rollout.
func (r *Rollouts) PatchStatus(ctx context.Context, name string, data, fallback []byte) (*v1alpha1.Rollout, error) {
	u, err := r.resource().Patch(ctx, name, types.MergePatchType, data, metav1.PatchOptions{}, "status")
	if apierrors.IsNotFound(err) && fallback != nil {
		return r.Patch(ctx, name, types.MergePatchType, fallback)
	}
	if err != nil {
		return nil, err
	}
	return FromUnstructured(u)
}

// Update writes u back; the server rejects it with a Conflict if u's
// resourceVersion is stale.
func (r *Rollouts) Update(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return r.resource().Update(ctx, u, metav1.UpdateOptions{})
}

// Create creates u as given, so fields Switchyard's types do not know reach
// the server untouched.
func (r *Rollouts) Create(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return r.resource().Create(ctx, u, metav1.CreateOptions{})
}

// List returns the Rollouts matching opts and the list's resourceVersion.
func (r *Rollouts) List(ctx context.Context, opts metav1.ListOptions) ([]v1alpha1.Rollout, string, error) {
	list, err := r.resource().List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	out := make([]v1alpha1.Rollout, 0, len(list.Items))
	for i := range list.Items {
		ro, err := FromUnstructured(&list.Items[i])
		if err != nil {
			return nil, "", err
		}
		out = append(out, *ro)
	}
	return out, list.GetResourceVersion(), nil
}

// Watch watches the Rollouts matching opts; events carry *unstructured.Unstructured.
func (r *Rollouts) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return r.resource().Watch(ctx, opts)
}

// ListRaw lists as the server sent it (for informers).
func (r *Rollouts) ListRaw(ctx context.Context, opts metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	return r.resource().List(ctx, opts)
}

// FromUnstructured converts a Rollout as served into Switchyard's type. It
// goes through JSON so the types' own (un)marshalling rules apply.
func FromUnstructured(u *unstructured.Unstructured) (*v1alpha1.Rollout, error) {
	data, err := u.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode rollout %s: %w", u.GetName(), err)
	}
	ro := &v1alpha1.Rollout{}
	if err := json.Unmarshal(data, ro); err != nil {
		return nil, fmt.Errorf("decode rollout %s: %w", u.GetName(), err)
	}
	return ro, nil
}
