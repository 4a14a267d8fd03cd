// Package alb is the AWS Load Balancer Controller traffic router. It
// writes the weights into the forward action annotation of each Ingress,
// <prefix>/actions.<root service>, whose target groups are the canary, the
// experiment destinations and the stable Service; header routes are
// actions.<route> and conditions.<route> annotations plus a path to
// <route> (port use-annotation) at the head of every rule.
//
// Every annotation the Rollout writes is listed, per Rollout, in
// rollouts.argoproj.io/managed-alb-annotations; other annotations and the
// rest of the Ingress are left as they are. Every Ingress is processed even
// when one fails, and every error is returned.
//
// Weight verification asks AWS whether the load balancer applies the
// weights; that needs AWS credentials and network access, so it is off
// unless a Verifier is given (VerifyWeight then reports nil).
package alb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting"
)

// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;update;patch

// Type is the router's name.
const Type = "ALB"

// Annotation keys and values.
const (
	DefaultAnnotationPrefix = "alb.ingress.kubernetes.io"
	// ManagedAnnotationsKey lists, per Rollout, the annotations it wrote.
	ManagedAnnotationsKey = "rollouts.argoproj.io/managed-alb-annotations"
	// UseAnnotationPort is the backend port name that sends a path to an action.
	UseAnnotationPort = "use-annotation"
)

// Verifier checks that the load balancer of an Ingress applies a split.
type Verifier interface {
	VerifyWeight(ctx context.Context, ingress *networkingv1.Ingress, split trafficrouting.Split, canaryService, stableService string, servicePort int32) (bool, error)
}

// Router drives the ALB Ingresses of one Rollout.
type Router struct {
	c        client.Client
	t        trafficrouting.Target
	cfg      v1alpha1.ALBTrafficRouting
	verifier Verifier
}

var _ trafficrouting.Router = (*Router)(nil)

// New builds the router from trafficRouting.alb; verifier may be nil.
func New(c client.Client, t trafficrouting.Target, verifier Verifier) *Router {
	r := &Router{c: c, t: t, verifier: verifier}
	if tr := t.Rollout.Spec.Strategy.Canary.TrafficRouting; tr != nil && tr.ALB != nil {
		r.cfg = *tr.ALB
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

func (r *Router) ingresses() []string {
	if r.cfg.Ingress != "" {
		return []string{r.cfg.Ingress}
	}
	return r.cfg.Ingresses
}

// actionService is the Service whose action carries the weights.
func (r *Router) actionService() string {
	if r.cfg.RootService != "" {
		return r.cfg.RootService
	}
	return r.t.StableService
}

// ActionKey is the annotation of a Service's action.
func (r *Router) ActionKey(service string) string { return r.prefix() + "/actions." + service }

// ConditionsKey is the annotation of a header route's conditions.
func (r *Router) ConditionsKey(route string) string { return r.prefix() + "/conditions." + route }

// action is the forward action, in the field order the controller reads.
type action struct {
	Type          string        `json:"Type"`
	ForwardConfig forwardConfig `json:"ForwardConfig"`
}

type forwardConfig struct {
	TargetGroups                []targetGroup     `json:"TargetGroups"`
	TargetGroupStickinessConfig *stickinessConfig `json:"TargetGroupStickinessConfig,omitempty"`
}

type targetGroup struct {
	ServiceName string `json:"ServiceName"`
	ServicePort string `json:"ServicePort"`
	Weight      int64  `json:"Weight"`
}

type stickinessConfig struct {
	Enabled         bool  `json:"Enabled"`
	DurationSeconds int64 `json:"DurationSeconds"`
}

type condition struct {
	Field            string           `json:"field"`
	HTTPHeaderConfig httpHeaderConfig `json:"httpHeaderConfig"`
}

type httpHeaderConfig struct {
	HTTPHeaderName string   `json:"httpHeaderName"`
	Values         []string `json:"values"`
}

func (r *Router) forward(groups []targetGroup) string {
	a := action{Type: "forward", ForwardConfig: forwardConfig{TargetGroups: groups}}
	if s := r.cfg.StickinessConfig; s != nil && s.Enabled {
		a.ForwardConfig.TargetGroupStickinessConfig = &stickinessConfig{Enabled: true, DurationSeconds: s.DurationSeconds}
	}
	out, _ := json.Marshal(a) // plain structs: cannot fail
	return string(out)
}

// WeightAction is the value of the action annotation at a split.
func (r *Router) WeightAction(split trafficrouting.Split) string {
	port := strconv.Itoa(int(r.cfg.ServicePort))
	groups := []targetGroup{{ServiceName: r.t.CanaryService, ServicePort: port, Weight: int64(split.Canary)}}
	for _, d := range split.Additional {
		groups = append(groups, targetGroup{ServiceName: d.ServiceName, ServicePort: port, Weight: int64(d.Weight)})
	}
	groups = append(groups, targetGroup{ServiceName: r.t.StableService, ServicePort: port, Weight: int64(split.Stable())})
	return r.forward(groups)
}

// each runs fn on every Ingress, all of them, joining the errors.
func (r *Router) each(fn func(name string) error) error {
	var errs []error
	for _, name := range r.ingresses() {
		if err := fn(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// change edits one Ingress: edit returns the annotations to set (nil value
// removes) and whether it changed spec.rules; the Rollout's entry in the
// managed-annotations list follows. Spec changes are sent with the
// resourceVersion, so a concurrent edit is read again rather than lost.
func (r *Router) change(ctx context.Context, name string, edit func(ing *networkingv1.Ingress) (map[string]*string, bool, error)) error {
	key := types.NamespacedName{Namespace: r.t.Rollout.Namespace, Name: name}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ing := &networkingv1.Ingress{}
		if err := r.c.Get(ctx, key, ing); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("ingress %s not found", key)
			}
			return fmt.Errorf("get Ingress %s: %w", key, err)
		}
		ann, specChanged, err := edit(ing)
		if err != nil {
			return fmt.Errorf("ingress %s: %w", key, err)
		}
		managed, err := r.managed(ing, ann)
		if err != nil {
			return fmt.Errorf("ingress %s: %w", key, err)
		}
		if managed != nil {
			ann[ManagedAnnotationsKey] = managed
		}
		if !specChanged && !differs(ing.Annotations, ann) {
			return nil
		}
		patch := map[string]any{"metadata": map[string]any{"annotations": ann}}
		if specChanged {
			patch["metadata"].(map[string]any)["resourceVersion"] = ing.ResourceVersion
			patch["spec"] = map[string]any{"rules": ing.Spec.Rules}
		}
		data, err := json.Marshal(patch)
		if err != nil {
			return err
		}
		if err := r.c.Patch(ctx, ing, client.RawPatch(types.MergePatchType, data)); err != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("patch ingress %s: %w", key, err)
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil && apierrors.IsConflict(err) {
		return fmt.Errorf("patch Ingress %s: still conflicting after retries: %w", key, err)
	}
	return err
}

// differs: applying ann would change the annotations.
func differs(have map[string]string, ann map[string]*string) bool {
	for k, v := range ann {
		cur, ok := have[k]
		if (v == nil && ok) || (v != nil && (!ok || cur != *v)) {
			return true
		}
	}
	return false
}

// managed is the new value of the managed-annotations list after ann is
// applied, nil when unchanged.
func (r *Router) managed(ing *networkingv1.Ingress, ann map[string]*string) (*string, error) {
	lists := map[string][]string{}
	if raw, ok := ing.Annotations[ManagedAnnotationsKey]; ok && raw != "" {
		if err := json.Unmarshal([]byte(raw), &lists); err != nil {
			return nil, fmt.Errorf("annotation %s is not a JSON object of lists: %w", ManagedAnnotationsKey, err)
		}
	}
	set := map[string]bool{}
	for _, k := range lists[r.t.Rollout.Name] {
		set[k] = true
	}
	before := len(set)
	changed := false
	for k, v := range ann {
		switch {
		case v == nil && set[k]:
			delete(set, k)
			changed = true
		case v != nil && !set[k]:
			set[k] = true
			changed = true
		}
	}
	if !changed && before == len(set) {
		return nil, nil
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		delete(lists, r.t.Rollout.Name)
	} else {
		lists[r.t.Rollout.Name] = keys
	}
	out, err := json.Marshal(lists)
	if err != nil {
		return nil, err
	}
	s := string(out)
	return &s, nil
}

// SetWeight implements trafficrouting.Router.
func (r *Router) SetWeight(ctx context.Context, split trafficrouting.Split) error {
	svc := r.actionService()
	value := r.WeightAction(split)
	return r.each(func(name string) error {
		return r.change(ctx, name, func(ing *networkingv1.Ingress) (map[string]*string, bool, error) {
			if !hasBackend(ing, svc) {
				return nil, false, fmt.Errorf("no rule sends a path to Service %q (port %s)", svc, UseAnnotationPort)
			}
			return map[string]*string{r.ActionKey(svc): &value}, false, nil
		})
	})
}

func hasBackend(ing *networkingv1.Ingress, svc string) bool {
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			if p.Backend.Service != nil && p.Backend.Service.Name == svc {
				return true
			}
		}
	}
	return false
}

// SetHeaderRoute implements trafficrouting.Router.
func (r *Router) SetHeaderRoute(ctx context.Context, h *v1alpha1.SetHeaderRoute) error {
	return r.each(func(name string) error {
		return r.change(ctx, name, func(ing *networkingv1.Ingress) (map[string]*string, bool, error) {
			if len(h.Match) == 0 {
				return r.removeRoutes(ing, []string{h.Name})
			}
			port := strconv.Itoa(int(r.cfg.ServicePort))
			act := r.forward([]targetGroup{{ServiceName: r.t.CanaryService, ServicePort: port, Weight: 100}})
			var conds []condition
			for _, m := range h.Match {
				if m.HeaderValue == nil || m.HeaderValue.Exact == "" {
					return nil, false, fmt.Errorf("header %q: the ALB matches headers exactly, set exact", m.HeaderName)
				}
				merged := false
				for i := range conds {
					if conds[i].HTTPHeaderConfig.HTTPHeaderName == m.HeaderName {
						conds[i].HTTPHeaderConfig.Values = append(conds[i].HTTPHeaderConfig.Values, m.HeaderValue.Exact)
						merged = true
					}
				}
				if !merged {
					conds = append(conds, condition{Field: "http-header", HTTPHeaderConfig: httpHeaderConfig{HTTPHeaderName: m.HeaderName, Values: []string{m.HeaderValue.Exact}}})
				}
			}
			data, _ := json.Marshal(conds)
			cond := string(data)
			changed := r.putPath(ing, h.Name)
			return map[string]*string{r.ActionKey(h.Name): &act, r.ConditionsKey(h.Name): &cond}, changed, nil
		})
	})
}

// putPath puts a "/*" path to the route's action at the head of every rule,
// then orders the managed routes' paths first, in managedRoutes order.
func (r *Router) putPath(ing *networkingv1.Ingress, route string) bool {
	order := map[string]int{}
	for i, n := range r.t.ManagedRouteNames() {
		order[n] = i
	}
	rank := func(p networkingv1.HTTPIngressPath) int {
		if p.Backend.Service != nil {
			if i, ok := order[p.Backend.Service.Name]; ok {
				return i
			}
		}
		return len(order)
	}
	pathType := networkingv1.PathTypeImplementationSpecific
	want := networkingv1.HTTPIngressPath{
		Path:     "/*",
		PathType: &pathType,
		Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: route, Port: networkingv1.ServiceBackendPort{Name: UseAnnotationPort}}},
	}
	changed := false
	for i := range ing.Spec.Rules {
		rule := &ing.Spec.Rules[i]
		if rule.HTTP == nil {
			continue
		}
		paths := []networkingv1.HTTPIngressPath{want}
		for _, p := range rule.HTTP.Paths {
			if p.Backend.Service != nil && p.Backend.Service.Name == route && p.Path == want.Path {
				continue
			}
			paths = append(paths, p)
		}
		sort.SliceStable(paths, func(a, b int) bool { return rank(paths[a]) < rank(paths[b]) })
		if !pathsEqual(paths, rule.HTTP.Paths) {
			rule.HTTP.Paths = paths
			changed = true
		}
	}
	return changed
}

func pathsEqual(a, b []networkingv1.HTTPIngressPath) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		ja, _ := json.Marshal(a[i])
		jb, _ := json.Marshal(b[i])
		if string(ja) != string(jb) {
			return false
		}
	}
	return true
}

// removeRoutes drops the routes' annotations and paths.
func (r *Router) removeRoutes(ing *networkingv1.Ingress, routes []string) (map[string]*string, bool, error) {
	ann := map[string]*string{}
	drop := map[string]bool{}
	for _, n := range routes {
		drop[n] = true
		for _, k := range []string{r.ActionKey(n), r.ConditionsKey(n)} {
			if _, ok := ing.Annotations[k]; ok {
				ann[k] = nil
			}
		}
	}
	changed := false
	for i := range ing.Spec.Rules {
		rule := &ing.Spec.Rules[i]
		if rule.HTTP == nil {
			continue
		}
		kept := rule.HTTP.Paths[:0:0]
		for _, p := range rule.HTTP.Paths {
			if p.Backend.Service != nil && drop[p.Backend.Service.Name] && p.Backend.Service.Port.Name == UseAnnotationPort {
				changed = true
				continue
			}
			kept = append(kept, p)
		}
		rule.HTTP.Paths = kept
	}
	return ann, changed, nil
}

// RemoveManagedRoutes implements trafficrouting.Router.
func (r *Router) RemoveManagedRoutes(ctx context.Context) error {
	names := r.t.ManagedRouteNames()
	if len(names) == 0 {
		return nil
	}
	return r.each(func(name string) error {
		return r.change(ctx, name, func(ing *networkingv1.Ingress) (map[string]*string, bool, error) {
			return r.removeRoutes(ing, names)
		})
	})
}

// SetMirrorRoute implements trafficrouting.Router: not supported by the
// ALB (validation refuses it).
func (r *Router) SetMirrorRoute(context.Context, *v1alpha1.SetMirrorRoute) error { return nil }

// UpdateHash implements trafficrouting.Router: target groups follow Services.
func (r *Router) UpdateHash(context.Context, string, string, []v1alpha1.WeightDestination) error {
	return nil
}

// VerifyWeight implements trafficrouting.Router: nil without a Verifier,
// else true only when every Ingress's load balancer applies the split.
func (r *Router) VerifyWeight(ctx context.Context, split trafficrouting.Split) (*bool, error) {
	if r.verifier == nil {
		return nil, nil
	}
	all := true
	for _, name := range r.ingresses() {
		ing := &networkingv1.Ingress{}
		if err := r.c.Get(ctx, types.NamespacedName{Namespace: r.t.Rollout.Namespace, Name: name}, ing); err != nil {
			return nil, fmt.Errorf("get Ingress %s/%s: %w", r.t.Rollout.Namespace, name, err)
		}
		ok, err := r.verifier.VerifyWeight(ctx, ing, split, r.t.CanaryService, r.t.StableService, r.cfg.ServicePort)
		if err != nil {
			return nil, fmt.Errorf("verify Ingress %s/%s: %w", r.t.Rollout.Namespace, name, err)
		}
		all = all && ok
	}
	return &all, nil
}
