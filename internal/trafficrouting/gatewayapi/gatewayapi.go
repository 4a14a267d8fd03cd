// Package gatewayapi is the Gateway API traffic router, configured under
// trafficRouting.plugins["argoproj-labs/gatewayAPI"] in the reference
// plugin's shape (package gwconfig) and implemented natively: nothing is
// downloaded or executed.
//
// What it writes:
//
//   - Weights: in every rule of every configured HTTPRoute, GRPCRoute,
//     TCPRoute and TLSRoute, each backendRef to the canary Service gets the
//     canary weight and each to the stable Service the rest (max minus the
//     canary and experiment weights; Gateway API weights are proportions,
//     so maxTrafficWeight works as is). Other backendRefs keep theirs. Both
//     Services must already be referenced by each route. While the canary
//     has weight the routes carry the in-progress label.
//   - Header routes (setHeaderRoute, HTTP and GRPC routes marked
//     useHeaderRoutes): for each rule that references both Services, a rule
//     named after the step (then "<name>-1", "<name>-2" for further source
//     rules) with the source rule's matches, each with the step's headers
//     added, the source rule's filters, and one backendRef to the canary
//     Service. They are appended: Gateway API precedence (more header
//     matches win) makes them take effect, not their position.
//   - Mirror routes (setMirrorRoute, HTTP routes marked useHeaderRoutes):
//     for each rule that references both Services, a copy of the rule named
//     after the step, whose matches are the source's narrowed by the step's
//     (path, method, headers), with a RequestMirror filter to the canary
//     Service at the step's percentage. The copy serves the matching
//     requests with the same weighted backends (SetWeight keeps them in
//     step) and mirrors them to the canary.
//
// Rules are recognised as the Rollout's by name only (managedRoutes and the
// step names, with their "-<n>" variants): a user's rule is never taken
// for one. Everything else in the routes is kept as it is.
package gatewayapi

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/gwconfig"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/objects"
)

// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes;grpcroutes;tcproutes;tlsroutes,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch

// Type is the router's name.
const Type = "GatewayAPI"

// Router drives the Gateway API routes of one Rollout.
type Router struct {
	c   client.Client
	t   trafficrouting.Target
	cfg gwconfig.Config
	ns  string
}

var _ trafficrouting.Router = (*Router)(nil)

// New builds the router from the Rollout's plugin configuration.
func New(c client.Client, t trafficrouting.Target) (*Router, error) {
	var raw []byte
	if tr := t.Rollout.Spec.Strategy.Canary.TrafficRouting; tr != nil {
		if j, ok := tr.Plugins[gwconfig.PluginName]; ok {
			raw = j.Raw
		}
	}
	cfg, err := gwconfig.Parse(raw)
	if err != nil {
		return nil, err
	}
	ns := cfg.Namespace
	if ns == "" {
		ns = t.Rollout.Namespace
	}
	return &Router{c: c, t: t, cfg: cfg, ns: ns}, nil
}

// Type implements trafficrouting.Router.
func (r *Router) Type() string { return Type }

func gk(k gwconfig.Kind) schema.GroupKind {
	return schema.GroupKind{Group: gatewayv1.GroupName, Kind: string(k)}
}

func (r *Router) ref(k gwconfig.Kind, name string) objects.Ref {
	return objects.Ref{GroupKind: gk(k), Namespace: r.ns, Name: name}
}

// ObjectRefs are the routes the configuration names (not those a selector
// would find): the objects whose changes concern the Rollout.
func (r *Router) ObjectRefs() []objects.Ref {
	var out []objects.Ref
	for _, k := range gwconfig.Kinds {
		for _, rt := range r.cfg.Routes(k) {
			out = append(out, r.ref(k, rt.Name))
		}
	}
	return out
}

// routes are the configured routes of a kind plus those its selector
// matches, once each.
func (r *Router) routes(ctx context.Context, k gwconfig.Kind) ([]gwconfig.Route, error) {
	list := r.cfg.Routes(k)
	if sel := r.cfg.Selector(k); sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return nil, fmt.Errorf("%s selector: %w", k, err)
		}
		hits, err := objects.List(ctx, r.c, gk(k), r.ns, client.MatchingLabelsSelector{Selector: s})
		if err != nil {
			return nil, err
		}
		for _, h := range hits {
			list = append(list, gwconfig.Route{Name: h.GetName()})
		}
	}
	seen := map[string]int{}
	var out []gwconfig.Route
	for _, rt := range list {
		if i, ok := seen[rt.Name]; ok {
			out[i].UseHeaderRoutes = out[i].UseHeaderRoutes || rt.UseHeaderRoutes
			continue
		}
		seen[rt.Name] = len(out)
		out = append(out, rt)
	}
	return out, nil
}

// each runs fn on every route of the kinds given, all of them even when
// some fail, and joins the errors.
func (r *Router) each(ctx context.Context, kinds []gwconfig.Kind, headerOnly bool, fn func(k gwconfig.Kind, name string) error) error {
	var errs []error
	total := 0
	for _, k := range kinds {
		routes, err := r.routes(ctx, k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, rt := range routes {
			if headerOnly && !rt.UseHeaderRoutes {
				continue
			}
			total++
			if err := fn(k, rt.Name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if total == 0 && len(errs) == 0 && !headerOnly {
		return errors.New("no route configured: set httpRoute(s), grpcRoute(s), tcpRoute(s), tlsRoute(s) or a route selector")
	}
	return errors.Join(errs...)
}

// UpdateHash implements trafficrouting.Router: routes select Services, not hashes.
func (r *Router) UpdateHash(context.Context, string, string, []v1alpha1.WeightDestination) error {
	return nil
}

// VerifyWeight implements trafficrouting.Router: the routes' status does
// not say which weights the data plane applies, so it cannot tell.
func (r *Router) VerifyWeight(context.Context, trafficrouting.Split) (*bool, error) {
	return nil, nil
}

// SetWeight implements trafficrouting.Router.
func (r *Router) SetWeight(ctx context.Context, split trafficrouting.Split) error {
	managed := newNames(r.t.ManagedRouteNames())
	var previous []v1alpha1.WeightDestination
	if w := r.t.Rollout.Status.Canary.Weights; w != nil {
		previous = w.Additional
	}
	return r.each(ctx, gwconfig.Kinds, false, func(k gwconfig.Kind, name string) error {
		var ports map[string]int64
		if k == gwconfig.HTTPRoute && (len(split.Additional) > 0 || len(previous) > 0) {
			var err error
			if ports, err = r.servicePorts(ctx, split.Additional); err != nil {
				return err
			}
		}
		_, err := objects.Edit(ctx, r.c, r.ref(k, name), func(u *unstructured.Unstructured) error {
			rules := objects.Maps(objects.Slice(spec(u), "rules"))
			sawCanary, sawStable := false, false
			var target map[string]any
			for _, rule := range rules {
				if managed.owns(objects.String(rule, "name")) && !(refersTo(rule, r.t.CanaryService) && refersTo(rule, r.t.StableService)) {
					continue // a header rule: all its traffic goes to the canary
				}
				for _, ref := range objects.Maps(objects.Slice(rule, "backendRefs")) {
					switch {
					case !isService(ref):
					case objects.String(ref, "name") == r.t.CanaryService:
						ref["weight"], sawCanary = int64(split.Canary), true
					case objects.String(ref, "name") == r.t.StableService:
						ref["weight"], sawStable = int64(split.Stable()), true
					}
				}
				if target == nil && !managed.owns(objects.String(rule, "name")) && (refersTo(rule, r.t.CanaryService) || refersTo(rule, r.t.StableService)) {
					target = rule
				}
			}
			if !sawCanary || !sawStable {
				return fmt.Errorf("no backendRef to both Services %q and %q", r.t.CanaryService, r.t.StableService)
			}
			if k == gwconfig.HTTPRoute && target != nil {
				setExperiments(target, split.Additional, previous, ports)
			}
			r.label(u, split.Canary > 0)
			return nil
		})
		return err
	})
}

// label sets or removes the in-progress label.
func (r *Router) label(u *unstructured.Unstructured, inProgress bool) {
	key, value, ok := r.cfg.InProgressLabel()
	if !ok {
		return
	}
	labels := u.GetLabels()
	if inProgress {
		if labels == nil {
			labels = map[string]string{}
		}
		labels[key] = value
	} else {
		if _, had := labels[key]; !had {
			return
		}
		delete(labels, key)
	}
	u.SetLabels(labels)
}

// servicePorts finds, for each experiment destination, the port of its
// Service: the one named "http", else the first.
func (r *Router) servicePorts(ctx context.Context, add []v1alpha1.WeightDestination) (map[string]int64, error) {
	ports := map[string]int64{}
	for _, d := range add {
		svc := &corev1.Service{}
		if err := r.c.Get(ctx, types.NamespacedName{Namespace: r.t.Rollout.Namespace, Name: d.ServiceName}, svc); err != nil {
			return nil, fmt.Errorf("get experiment Service %s/%s: %w", r.t.Rollout.Namespace, d.ServiceName, err)
		}
		for i, p := range svc.Spec.Ports {
			if i == 0 || p.Name == "http" {
				ports[d.ServiceName] = int64(p.Port)
			}
			if p.Name == "http" {
				break
			}
		}
	}
	return ports, nil
}

// setExperiments gives each experiment destination its weight in the rule,
// adding a backendRef when missing, and drops the refs of destinations that
// were in status but are no longer sent.
func setExperiments(rule map[string]any, add, previous []v1alpha1.WeightDestination, ports map[string]int64) {
	refs := objects.Slice(rule, "backendRefs")
	want := map[string]int32{}
	for _, d := range add {
		want[d.ServiceName] = d.Weight
	}
	gone := map[string]bool{}
	for _, d := range previous {
		if _, still := want[d.ServiceName]; !still {
			gone[d.ServiceName] = true
		}
	}
	kept := refs[:0:0]
	present := map[string]bool{}
	for _, e := range refs {
		ref, ok := e.(map[string]any)
		name := objects.String(ref, "name")
		if ok && isService(ref) && gone[name] {
			continue
		}
		if w, ok2 := want[name]; ok && ok2 && isService(ref) {
			ref["weight"] = int64(w)
			present[name] = true
		}
		kept = append(kept, e)
	}
	for _, d := range add {
		if present[d.ServiceName] {
			continue
		}
		ref := map[string]any{"name": d.ServiceName, "weight": int64(d.Weight)}
		if p, ok := ports[d.ServiceName]; ok {
			ref["port"] = p
		}
		kept = append(kept, ref)
	}
	rule["backendRefs"] = kept
}

// SetHeaderRoute implements trafficrouting.Router.
func (r *Router) SetHeaderRoute(ctx context.Context, h *v1alpha1.SetHeaderRoute) error {
	managed := newNames(r.t.ManagedRouteNames())
	return r.each(ctx, []gwconfig.Kind{gwconfig.HTTPRoute, gwconfig.GRPCRoute}, true, func(k gwconfig.Kind, name string) error {
		_, err := objects.Edit(ctx, r.c, r.ref(k, name), func(u *unstructured.Unstructured) error {
			rules := dropRules(objects.Slice(spec(u), "rules"), newNames([]string{h.Name}))
			if len(h.Match) > 0 {
				sources := r.sources(rules, managed)
				if len(sources) == 0 {
					return fmt.Errorf("no rule has backendRefs to both Services %q and %q", r.t.CanaryService, r.t.StableService)
				}
				headers, err := headerMatches(h.Match)
				if err != nil {
					return err
				}
				for i, src := range sources {
					rule, err := r.headerRule(k, ruleName(h.Name, i), src, headers)
					if err != nil {
						return err
					}
					rules = append(rules, rule)
				}
			}
			return unstructured.SetNestedSlice(u.Object, rules, "spec", "rules")
		})
		return err
	})
}

// SetMirrorRoute implements trafficrouting.Router.
func (r *Router) SetMirrorRoute(ctx context.Context, m *v1alpha1.SetMirrorRoute) error {
	managed := newNames(r.t.ManagedRouteNames())
	return r.each(ctx, []gwconfig.Kind{gwconfig.HTTPRoute}, true, func(k gwconfig.Kind, name string) error {
		_, err := objects.Edit(ctx, r.c, r.ref(k, name), func(u *unstructured.Unstructured) error {
			rules := dropRules(objects.Slice(spec(u), "rules"), newNames([]string{m.Name}))
			if len(m.Match) > 0 {
				sources := r.sources(rules, managed)
				if len(sources) == 0 {
					return fmt.Errorf("no rule has backendRefs to both Services %q and %q", r.t.CanaryService, r.t.StableService)
				}
				for i, src := range sources {
					rule, err := r.mirrorRule(ruleName(m.Name, i), src, m)
					if err != nil {
						return err
					}
					rules = append(rules, rule)
				}
			}
			return unstructured.SetNestedSlice(u.Object, rules, "spec", "rules")
		})
		return err
	})
}

// RemoveManagedRoutes implements trafficrouting.Router.
func (r *Router) RemoveManagedRoutes(ctx context.Context) error {
	managed := newNames(r.t.ManagedRouteNames())
	if len(managed) == 0 {
		return nil
	}
	return r.each(ctx, []gwconfig.Kind{gwconfig.HTTPRoute, gwconfig.GRPCRoute}, true, func(k gwconfig.Kind, name string) error {
		_, err := objects.Edit(ctx, r.c, r.ref(k, name), func(u *unstructured.Unstructured) error {
			rules := objects.Slice(spec(u), "rules")
			kept := dropRules(rules, managed)
			if len(kept) == len(rules) {
				return nil
			}
			return unstructured.SetNestedSlice(u.Object, kept, "spec", "rules")
		})
		return err
	})
}

// sources are the user's rules that reference both Services.
func (r *Router) sources(rules []any, managed names) []map[string]any {
	var out []map[string]any
	for _, rule := range objects.Maps(rules) {
		if !managed.owns(objects.String(rule, "name")) && refersTo(rule, r.t.CanaryService) && refersTo(rule, r.t.StableService) {
			out = append(out, rule)
		}
	}
	return out
}

// canaryRef is a backendRef to the canary Service with the port the
// source rule uses for it.
func (r *Router) canaryRef(src map[string]any) gatewayv1.BackendObjectReference {
	ref := gatewayv1.BackendObjectReference{
		Group: ptr.To(gatewayv1.Group("")),
		Kind:  ptr.To(gatewayv1.Kind("Service")),
		Name:  gatewayv1.ObjectName(r.t.CanaryService),
	}
	for _, b := range objects.Maps(objects.Slice(src, "backendRefs")) {
		if isService(b) && objects.String(b, "name") == r.t.CanaryService {
			if p, ok := objects.Int(b, "port"); ok {
				ref.Port = ptr.To(gatewayv1.PortNumber(p))
			}
			break
		}
	}
	return ref
}

// headerRule builds the header rule for one source rule.
func (r *Router) headerRule(k gwconfig.Kind, name string, src map[string]any, headers []gatewayv1.HTTPHeaderMatch) (any, error) {
	var matches []any
	for _, m := range objects.Maps(objects.Slice(src, "matches")) {
		nm := map[string]any{}
		keep := []string{"path", "queryParams", "method"}
		if k == gwconfig.GRPCRoute {
			keep = []string{"method"}
		}
		for _, key := range keep {
			if v, ok := m[key]; ok {
				nm[key] = runtime.DeepCopyJSONValue(v)
			}
		}
		nm["headers"] = append(runtime.DeepCopyJSONValue(objects.Slice(m, "headers")).([]any), toJSONList(headers)...)
		matches = append(matches, nm)
	}
	if len(matches) == 0 {
		matches = []any{map[string]any{"headers": toJSONList(headers)}}
	}
	rule := map[string]any{
		"name":        name,
		"matches":     matches,
		"backendRefs": []any{toJSON(&gatewayv1.BackendRef{BackendObjectReference: r.canaryRef(src)})},
	}
	if f, ok := src["filters"]; ok {
		rule["filters"] = runtime.DeepCopyJSONValue(f)
	}
	return rule, nil
}

// mirrorRule copies the source rule, narrows its matches to the step's and
// mirrors them to the canary.
func (r *Router) mirrorRule(name string, src map[string]any, m *v1alpha1.SetMirrorRoute) (any, error) {
	rule := runtime.DeepCopyJSONValue(src).(map[string]any)
	rule["name"] = name
	srcMatches := objects.Maps(objects.Slice(src, "matches"))
	if len(srcMatches) == 0 {
		srcMatches = []map[string]any{{}}
	}
	var matches []any
	for _, step := range m.Match {
		for _, sm := range srcMatches {
			nm := runtime.DeepCopyJSONValue(sm).(map[string]any)
			if step.Path != nil {
				p, err := pathMatch(step.Path)
				if err != nil {
					return nil, err
				}
				nm["path"] = toJSON(&p)
			}
			if step.Method != nil {
				nm["method"] = step.Method.Exact
			}
			keys := make([]string, 0, len(step.Headers))
			for k := range step.Headers {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			hs := runtime.DeepCopyJSONValue(objects.Slice(sm, "headers")).([]any)
			for _, k := range keys {
				h, err := headerMatch(k, step.Headers[k])
				if err != nil {
					return nil, err
				}
				hs = append(hs, toJSON(&h))
			}
			if len(hs) > 0 {
				nm["headers"] = hs
			}
			matches = append(matches, nm)
		}
	}
	rule["matches"] = matches
	pct := int32(100)
	if m.Percentage != nil {
		pct = *m.Percentage
	}
	mirror := gatewayv1.HTTPRouteFilter{
		Type:          gatewayv1.HTTPRouteFilterRequestMirror,
		RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{BackendRef: r.canaryRef(src), Percent: ptr.To(pct)},
	}
	rule["filters"] = append(runtime.DeepCopyJSONValue(objects.Slice(src, "filters")).([]any), toJSON(&mirror))
	return rule, nil
}

func headerMatches(ms []v1alpha1.HeaderRoutingMatch) ([]gatewayv1.HTTPHeaderMatch, error) {
	out := make([]gatewayv1.HTTPHeaderMatch, 0, len(ms))
	for _, m := range ms {
		if m.HeaderValue == nil {
			return nil, fmt.Errorf("header %q has no value to match", m.HeaderName)
		}
		h, err := headerMatch(m.HeaderName, *m.HeaderValue)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// headerMatch turns a StringMatch into a Gateway API header match. A
// prefix becomes an anchored regular expression with the prefix escaped.
func headerMatch(name string, v v1alpha1.StringMatch) (gatewayv1.HTTPHeaderMatch, error) {
	h := gatewayv1.HTTPHeaderMatch{Name: gatewayv1.HTTPHeaderName(name)}
	switch {
	case v.Exact != "":
		h.Type, h.Value = ptr.To(gatewayv1.HeaderMatchExact), v.Exact
	case v.Prefix != "":
		h.Type, h.Value = ptr.To(gatewayv1.HeaderMatchRegularExpression), "^"+regexp.QuoteMeta(v.Prefix)+".*"
	case v.Regex != "":
		h.Type, h.Value = ptr.To(gatewayv1.HeaderMatchRegularExpression), v.Regex
	default:
		return h, fmt.Errorf("header %q: one of exact, prefix or regex is required", name)
	}
	return h, nil
}

func pathMatch(v *v1alpha1.StringMatch) (gatewayv1.HTTPPathMatch, error) {
	switch {
	case v.Exact != "":
		return gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchExact), Value: ptr.To(v.Exact)}, nil
	case v.Prefix != "":
		return gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To(v.Prefix)}, nil
	case v.Regex != "":
		return gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchRegularExpression), Value: ptr.To(v.Regex)}, nil
	}
	return gatewayv1.HTTPPathMatch{}, errors.New("path: one of exact, prefix or regex is required")
}

// toJSON converts a pointer to a typed value to its unstructured form.
func toJSON(v any) map[string]any {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(v)
	if err != nil {
		panic(fmt.Sprintf("convert %T: %v", v, err)) // the types are plain structs: cannot happen
	}
	return m
}

func toJSONList[T any](vs []T) []any {
	out := make([]any, 0, len(vs))
	for i := range vs {
		out = append(out, toJSON(&vs[i]))
	}
	return out
}

func spec(u *unstructured.Unstructured) map[string]any {
	s, _ := u.Object["spec"].(map[string]any)
	return s
}

// isService: a backendRef to a core Service (the default group and kind).
func isService(ref map[string]any) bool {
	g, k := objects.String(ref, "group"), objects.String(ref, "kind")
	return (g == "" || g == "core") && (k == "" || k == "Service")
}

func refersTo(rule map[string]any, svc string) bool {
	for _, ref := range objects.Maps(objects.Slice(rule, "backendRefs")) {
		if isService(ref) && objects.String(ref, "name") == svc {
			return true
		}
	}
	return false
}

// ruleName is the name of the rule built from the i-th source rule.
func ruleName(name string, i int) string {
	if i == 0 {
		return name
	}
	return name + "-" + strconv.Itoa(i)
}

// names is a set of managed route names.
type names map[string]bool

func newNames(list []string) names {
	n := names{}
	for _, s := range list {
		n[s] = true
	}
	return n
}

// owns: the rule name is a managed name or one of its "-<n>" variants.
func (n names) owns(rule string) bool {
	if rule == "" {
		return false
	}
	if n[rule] {
		return true
	}
	i := strings.LastIndexByte(rule, '-')
	if i <= 0 || i == len(rule)-1 {
		return false
	}
	if _, err := strconv.Atoi(rule[i+1:]); err != nil {
		return false
	}
	return n[rule[:i]]
}

// dropRules removes the rules the names own.
func dropRules(rules []any, n names) []any {
	out := make([]any, 0, len(rules))
	for _, e := range rules {
		if m, ok := e.(map[string]any); ok && n.owns(objects.String(m, "name")) {
			continue
		}
		out = append(out, e)
	}
	return out
}
