// Package nginx is the NGINX Ingress traffic router. For each stable
// Ingress it keeps a canary Ingress, <rollout>-<stable ingress>-canary,
// built from the stable one: the rules that reach the stable Service, sent
// to the canary Service instead, and NGINX's canary annotations carrying
// the weight. The stable Ingress is never modified.
//
// The canary Ingress is owned (controller reference) by the Rollout, so it
// goes with it. It is deleted when the canary ends (fully promoted, or
// aborted with all traffic back on stable), and exists at weight 0 while
// the canary is at 0 mid-update, so canary-by-header annotations keep
// working then.
package nginx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting"
)

// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;update;patch;delete

// Type is the router's name.
const Type = "Nginx"

// DefaultAnnotationPrefix is NGINX Ingress's annotation prefix.
const DefaultAnnotationPrefix = "nginx.ingress.kubernetes.io"

// IngressClassAnnotation is the legacy class annotation, copied to the canary.
const IngressClassAnnotation = "kubernetes.io/ingress.class"

// Router drives the canary Ingresses of one Rollout.
type Router struct {
	c   client.Client
	t   trafficrouting.Target
	cfg v1alpha1.NginxTrafficRouting
}

var _ trafficrouting.Router = (*Router)(nil)

// New builds the router from trafficRouting.nginx.
func New(c client.Client, t trafficrouting.Target) *Router {
	r := &Router{c: c, t: t}
	if tr := t.Rollout.Spec.Strategy.Canary.TrafficRouting; tr != nil && tr.Nginx != nil {
		r.cfg = *tr.Nginx
	}
	return r
}

// Type implements trafficrouting.Router.
func (r *Router) Type() string { return Type }

func (r *Router) prefix() string {
	if r.cfg.AnnotationPrefix != "" {
		return r.cfg.AnnotationPrefix
	}
	return DefaultAnnotationPrefix
}

func (r *Router) stableIngresses() []string {
	if r.cfg.StableIngress != "" {
		return []string{r.cfg.StableIngress}
	}
	return r.cfg.StableIngresses
}

// CanaryIngressName is <rollout>-<stable ingress>-canary, the first part
// cut to 246 characters so the name fits in 253.
func CanaryIngressName(rollout, stableIngress string) string {
	base := rollout + "-" + stableIngress
	if len(base) > 246 {
		base = base[:246]
	}
	return base + "-canary"
}

// SetWeight implements trafficrouting.Router: every stable Ingress gets its
// canary Ingress at the weight (deleted when the canary ended), all of them
// even when one fails.
func (r *Router) SetWeight(ctx context.Context, split trafficrouting.Split) error {
	var errs []error
	for _, name := range r.stableIngresses() {
		var err error
		if split.Ended {
			err = r.deleteCanary(ctx, name)
		} else {
			err = r.ensureCanary(ctx, name, split)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *Router) key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: r.t.Rollout.Namespace, Name: name}
}

func (r *Router) ensureCanary(ctx context.Context, stableName string, split trafficrouting.Split) error {
	stable := &networkingv1.Ingress{}
	if err := r.c.Get(ctx, r.key(stableName), stable); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("stable Ingress %s/%s not found", r.t.Rollout.Namespace, stableName)
		}
		return fmt.Errorf("get stable Ingress %s/%s: %w", r.t.Rollout.Namespace, stableName, err)
	}
	desired, err := r.DesiredCanary(stable, split)
	if err != nil {
		return err
	}
	current := &networkingv1.Ingress{}
	err = r.c.Get(ctx, client.ObjectKeyFromObject(desired), current)
	switch {
	case apierrors.IsNotFound(err):
		err = r.c.Create(ctx, desired)
		if !apierrors.IsAlreadyExists(err) {
			if err != nil {
				return fmt.Errorf("create canary Ingress %s: %w", client.ObjectKeyFromObject(desired), err)
			}
			return nil
		}
		// Created meanwhile: read it and patch it below.
		if err := r.c.Get(ctx, client.ObjectKeyFromObject(desired), current); err != nil {
			return fmt.Errorf("get canary Ingress %s: %w", client.ObjectKeyFromObject(desired), err)
		}
	case err != nil:
		return fmt.Errorf("get canary Ingress %s: %w", client.ObjectKeyFromObject(desired), err)
	}
	if !metav1.IsControlledBy(current, r.t.Rollout) {
		return fmt.Errorf("canary Ingress %s exists and is not controlled by Rollout %s", client.ObjectKeyFromObject(current), r.t.Rollout.Name)
	}
	if annotationsHeld(current.Annotations, desired.Annotations) && equality.Semantic.DeepEqual(current.Spec, desired.Spec) {
		return nil
	}
	// Annotations already there that are not desired are kept; the spec is
	// replaced by the desired one.
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": desired.Annotations},
		"spec":     desired.Spec,
	})
	if err != nil {
		return err
	}
	if err := r.c.Patch(ctx, current, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("patch canary Ingress %s: %w", client.ObjectKeyFromObject(current), err)
	}
	return nil
}

func annotationsHeld(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

// DesiredCanary builds the canary Ingress for a stable Ingress at a split.
func (r *Router) DesiredCanary(stable *networkingv1.Ingress, split trafficrouting.Split) (*networkingv1.Ingress, error) {
	prefix := r.prefix()
	ann := map[string]string{}
	if c, ok := stable.Annotations[IngressClassAnnotation]; ok {
		ann[IngressClassAnnotation] = c
	}
	for k, v := range r.cfg.AdditionalIngressAnnotations {
		if !strings.HasPrefix(k, prefix) {
			k = prefix + "/" + k
		}
		ann[k] = v
	}
	for k, v := range r.cfg.CanaryIngressAnnotations {
		ann[k] = v
	}
	ann[prefix+"/canary"] = "true"
	ann[prefix+"/canary-weight"] = strconv.Itoa(int(split.Canary))
	if tr := r.t.Rollout.Spec.Strategy.Canary.TrafficRouting; tr != nil && tr.MaxTrafficWeight != nil {
		ann[prefix+"/canary-weight-total"] = strconv.Itoa(int(split.Max))
	}

	spec := networkingv1.IngressSpec{IngressClassName: stable.Spec.IngressClassName}
	for _, t := range stable.Spec.TLS {
		spec.TLS = append(spec.TLS, *t.DeepCopy())
	}
	for _, rule := range stable.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		found := false
		rule := *rule.DeepCopy()
		for i := range rule.HTTP.Paths {
			if b := rule.HTTP.Paths[i].Backend.Service; b != nil && b.Name == r.t.StableService {
				b.Name = r.t.CanaryService
				found = true
			}
		}
		if found {
			spec.Rules = append(spec.Rules, rule)
		}
	}
	if len(spec.Rules) == 0 {
		return nil, fmt.Errorf("stable Ingress %s/%s has no rules using Service %s as a backend", stable.Namespace, stable.Name, r.t.StableService)
	}
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   r.t.Rollout.Namespace,
			Name:        CanaryIngressName(r.t.Rollout.Name, stable.Name),
			Annotations: ann,
		},
		Spec: spec,
	}
	if err := controllerutil.SetControllerReference(r.t.Rollout, ing, r.c.Scheme()); err != nil {
		return nil, fmt.Errorf("own canary Ingress %s: %w", ing.Name, err)
	}
	return ing, nil
}

func (r *Router) deleteCanary(ctx context.Context, stableName string) error {
	ing := &networkingv1.Ingress{}
	key := r.key(CanaryIngressName(r.t.Rollout.Name, stableName))
	if err := r.c.Get(ctx, key, ing); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("get canary Ingress %s: %w", key, err)
	}
	if !metav1.IsControlledBy(ing, r.t.Rollout) {
		return fmt.Errorf("canary Ingress %s exists and is not controlled by Rollout %s", key, r.t.Rollout.Name)
	}
	if err := r.c.Delete(ctx, ing, client.Preconditions{UID: &ing.UID}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete canary Ingress %s: %w", key, err)
	}
	return nil
}

// UpdateHash implements trafficrouting.Router: Ingresses select Services.
func (r *Router) UpdateHash(context.Context, string, string, []v1alpha1.WeightDestination) error {
	return nil
}

// SetHeaderRoute implements trafficrouting.Router. NGINX routes by header
// through canary-by-header annotations (additionalIngressAnnotations).
func (r *Router) SetHeaderRoute(context.Context, *v1alpha1.SetHeaderRoute) error { return nil }

// SetMirrorRoute implements trafficrouting.Router: not supported (validation refuses it).
func (r *Router) SetMirrorRoute(context.Context, *v1alpha1.SetMirrorRoute) error { return nil }

// VerifyWeight implements trafficrouting.Router: it cannot tell.
func (r *Router) VerifyWeight(context.Context, trafficrouting.Split) (*bool, error) { return nil, nil }

// RemoveManagedRoutes implements trafficrouting.Router: it manages none.
func (r *Router) RemoveManagedRoutes(context.Context) error { return nil }
