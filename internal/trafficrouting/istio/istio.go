// Package istio is the Istio traffic router. It sets the weights of the
// canary and stable destinations in the named HTTP, TLS and TCP routes of
// one or more VirtualServices and, for subset-level splitting, labels the
// canary and stable subsets of a DestinationRule with the ReplicaSets'
// pod-template hashes. Header and mirror routes are HTTP routes named after
// their step, placed before every other route in managedRoutes order.
//
// Only what the Rollout owns is touched: destinations other than the
// canary, the stable and the experiment destinations keep their weight
// (which the stable's is reduced by), subsets other than the canary and
// stable ones are left alone, and every VirtualService is finished even
// when one fails. Objects are edited as unstructured data at the version
// the API server serves.
package istio

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/objects"
)

// +kubebuilder:rbac:groups=networking.istio.io,resources=virtualservices;destinationrules,verbs=get;list;watch;update;patch

// Type is the router's name.
const Type = "Istio"

var (
	virtualServiceGK  = schema.GroupKind{Group: "networking.istio.io", Kind: "VirtualService"}
	destinationRuleGK = schema.GroupKind{Group: "networking.istio.io", Kind: "DestinationRule"}
)

// Router drives the VirtualServices and DestinationRule of one Rollout.
type Router struct {
	c   client.Client
	t   trafficrouting.Target
	cfg v1alpha1.IstioTrafficRouting
}

var (
	_ trafficrouting.Router         = (*Router)(nil)
	_ trafficrouting.HashReferencer = (*Router)(nil)
)

// New builds the router from trafficRouting.istio.
func New(c client.Client, t trafficrouting.Target) *Router {
	r := &Router{c: c, t: t}
	if tr := t.Rollout.Spec.Strategy.Canary.TrafficRouting; tr != nil && tr.Istio != nil {
		r.cfg = *tr.Istio
	}
	return r
}

// Type implements trafficrouting.Router.
func (r *Router) Type() string { return Type }

func (r *Router) virtualServices() []v1alpha1.IstioVirtualService {
	if r.cfg.VirtualService != nil {
		return []v1alpha1.IstioVirtualService{*r.cfg.VirtualService}
	}
	return r.cfg.VirtualServices
}

// ref resolves "name" or "name.namespace" (a ".svc.cluster.local" or
// ".cluster.local" suffix is ignored).
func (r *Router) ref(gk schema.GroupKind, name string) objects.Ref {
	ns := r.t.Rollout.Namespace
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".svc.cluster.local"), ".cluster.local")
	if i := strings.LastIndexByte(name, '.'); i > 0 && i < len(name)-1 {
		name, ns = name[:i], name[i+1:]
	}
	return objects.Ref{GroupKind: gk, Namespace: ns, Name: name}
}

// ObjectRefs are the VirtualServices and the DestinationRule the
// configuration names.
func (r *Router) ObjectRefs() []objects.Ref {
	var out []objects.Ref
	for _, vs := range r.virtualServices() {
		out = append(out, r.ref(virtualServiceGK, vs.Name))
	}
	if dr := r.cfg.DestinationRule; dr != nil {
		out = append(out, r.ref(destinationRuleGK, dr.Name))
	}
	return out
}

// eachVS edits every VirtualService, all of them, joining the errors.
func (r *Router) eachVS(ctx context.Context, edit func(vs v1alpha1.IstioVirtualService, u *unstructured.Unstructured) error) error {
	var errs []error
	for _, vs := range r.virtualServices() {
		if _, err := objects.Edit(ctx, r.c, r.ref(virtualServiceGK, vs.Name), func(u *unstructured.Unstructured) error {
			return edit(vs, u)
		}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// matcher tells the canary and stable destinations apart: by subset with a
// DestinationRule, else by the first DNS label of the host.
type matcher struct {
	canary, stable string
	bySubset       bool
}

func (r *Router) matcher() matcher {
	if dr := r.cfg.DestinationRule; dr != nil {
		return matcher{canary: dr.CanarySubsetName, stable: dr.StableSubsetName, bySubset: true}
	}
	return matcher{canary: r.t.CanaryService, stable: r.t.StableService}
}

func hostName(dest map[string]any) string {
	h := objects.String(dest, "host")
	if i := strings.IndexByte(h, '.'); i >= 0 {
		h = h[:i]
	}
	return h
}

func (m matcher) role(dest map[string]any) string {
	key := hostName(dest)
	if m.bySubset {
		key = objects.String(dest, "subset")
	}
	switch key {
	case m.canary:
		return "canary"
	case m.stable:
		return "stable"
	}
	return ""
}

func spec(u *unstructured.Unstructured) map[string]any {
	s, ok := u.Object["spec"].(map[string]any)
	if !ok {
		s = map[string]any{}
		u.Object["spec"] = s
	}
	return s
}

// SetWeight implements trafficrouting.Router.
func (r *Router) SetWeight(ctx context.Context, split trafficrouting.Split) error {
	managed := r.t.ManagedRouteNames()
	var previous []v1alpha1.WeightDestination
	if w := r.t.Rollout.Status.Canary.Weights; w != nil {
		previous = w.Additional
	}
	m := r.matcher()
	return r.eachVS(ctx, func(vs v1alpha1.IstioVirtualService, u *unstructured.Unstructured) error {
		http, err := r.httpRoutes(vs, u, managed)
		if err != nil {
			return err
		}
		tls, err := portRoutes(u, "tls", len(vs.TLSRoutes), func(i int) (int64, []string) { return vs.TLSRoutes[i].Port, vs.TLSRoutes[i].SNIHosts })
		if err != nil {
			return err
		}
		tcp, err := portRoutes(u, "tcp", len(vs.TCPRoutes), func(i int) (int64, []string) { return vs.TCPRoutes[i].Port, nil })
		if err != nil {
			return err
		}
		for _, route := range append(append(http, tls...), tcp...) {
			if err := setDestinations(route, m, split, previous); err != nil {
				return err
			}
		}
		return nil
	})
}

// httpRoutes are the HTTP routes to weight: the named ones (or, when no
// route of any kind is named, the only unmanaged one) and the managed
// mirror routes, which serve traffic too.
func (r *Router) httpRoutes(vs v1alpha1.IstioVirtualService, u *unstructured.Unstructured, managed []string) ([]map[string]any, error) {
	routes := objects.Maps(objects.Slice(spec(u), "http"))
	byName := map[string]map[string]any{}
	for _, rt := range routes {
		if n := objects.String(rt, "name"); n != "" {
			byName[n] = rt
		}
	}
	var out []map[string]any
	switch {
	case len(vs.Routes) > 0:
		for _, n := range vs.Routes {
			rt, ok := byName[n]
			if !ok {
				return nil, fmt.Errorf("no HTTP route named %q", n)
			}
			out = append(out, rt)
		}
	case len(vs.TLSRoutes) == 0 && len(vs.TCPRoutes) == 0:
		isManaged := map[string]bool{}
		for _, n := range managed {
			isManaged[n] = true
		}
		var unmanaged []map[string]any
		for _, rt := range routes {
			if !isManaged[objects.String(rt, "name")] {
				unmanaged = append(unmanaged, rt)
			}
		}
		if len(unmanaged) != 1 {
			return nil, fmt.Errorf("has %d HTTP routes: name the ones to weight in virtualService.routes", len(unmanaged))
		}
		out = append(out, unmanaged[0])
	}
	for _, n := range r.mirrorNames() {
		if rt, ok := byName[n]; ok {
			out = append(out, rt)
		}
	}
	return out, nil
}

// mirrorNames are the names of the Rollout's mirror routes.
func (r *Router) mirrorNames() []string {
	var out []string
	for _, s := range r.t.Rollout.Spec.Strategy.Canary.Steps {
		if s.SetMirrorRoute != nil && s.SetMirrorRoute.Name != "" {
			out = append(out, s.SetMirrorRoute.Name)
		}
	}
	return out
}

// portRoutes picks the TLS or TCP routes listed: those with a match on the
// port (and, for TLS, exactly the SNI hosts); an entry without a port
// stands for the only route of that kind.
func portRoutes(u *unstructured.Unstructured, kind string, n int, pick func(i int) (int64, []string)) ([]map[string]any, error) {
	routes := objects.Maps(objects.Slice(spec(u), kind))
	var out []map[string]any
	for i := 0; i < n; i++ {
		port, sni := pick(i)
		if port == 0 && len(sni) == 0 {
			if len(routes) != 1 {
				return nil, fmt.Errorf("has %d %s routes: give the port of the one to weight", len(routes), strings.ToUpper(kind))
			}
			out = append(out, routes[0])
			continue
		}
		found := false
		for _, rt := range routes {
			for _, m := range objects.Maps(objects.Slice(rt, "match")) {
				p, _ := objects.Int(m, "port")
				if (port == 0 || p == port) && sameHosts(objects.Slice(m, "sniHosts"), sni) {
					out = append(out, rt)
					found = true
					break
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("no %s route matches port %d%s", strings.ToUpper(kind), port, sniText(sni))
		}
	}
	return out, nil
}

func sniText(sni []string) string {
	if len(sni) == 0 {
		return ""
	}
	return " and SNI hosts " + strings.Join(sni, ",")
}

func sameHosts(have []any, want []string) bool {
	if len(want) == 0 {
		return true
	}
	if len(have) != len(want) {
		return false
	}
	set := map[string]bool{}
	for _, h := range have {
		s, _ := h.(string)
		set[s] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}

// setDestinations weights one route's destinations.
func setDestinations(route map[string]any, m matcher, split trafficrouting.Split, previous []v1alpha1.WeightDestination) error {
	dests := objects.Maps(objects.Slice(route, "route"))
	want := map[string]int32{}
	for _, d := range split.Additional {
		want[d.ServiceName] = d.Weight
	}
	gone := map[string]bool{}
	for _, d := range previous {
		if _, still := want[d.ServiceName]; !still {
			gone[d.ServiceName] = true
		}
	}
	var kept []any
	var canary, stable map[string]any
	present := map[string]bool{}
	var others int64
	for _, d := range dests {
		dest, _ := d["destination"].(map[string]any)
		switch role := m.role(dest); {
		case role == "canary":
			canary = d
		case role == "stable":
			stable = d
		case gone[hostName(dest)]:
			continue // an experiment that ended
		default:
			if w, ok := want[hostName(dest)]; ok {
				d["weight"] = int64(w)
				present[hostName(dest)] = true
			} else {
				w, _ := objects.Int(d, "weight")
				others += w
			}
		}
		kept = append(kept, d)
	}
	name := objects.String(route, "name")
	if canary == nil {
		return fmt.Errorf("route %q has no destination for the canary (%s)", name, m.canary)
	}
	if stable == nil {
		return fmt.Errorf("route %q has no destination for the stable (%s)", name, m.stable)
	}
	var added []string
	for _, d := range split.Additional {
		if !present[d.ServiceName] {
			added = append(added, d.ServiceName)
		}
	}
	sort.Strings(added)
	for _, n := range added {
		kept = append(kept, map[string]any{"destination": map[string]any{"host": n}, "weight": int64(want[n])})
	}
	canary["weight"] = int64(split.Canary)
	stable["weight"] = max(int64(split.Stable())-others, 0)
	route["route"] = kept
	return nil
}

// UpdateHash implements trafficrouting.Router: the DestinationRule's canary
// and stable subsets select the ReplicaSets by hash (the label is removed
// for an empty hash). Other subsets are left as they are.
func (r *Router) UpdateHash(ctx context.Context, canaryHash, stableHash string, _ []v1alpha1.WeightDestination) error {
	dr := r.cfg.DestinationRule
	if dr == nil {
		return nil
	}
	_, err := objects.Edit(ctx, r.c, r.ref(destinationRuleGK, dr.Name), func(u *unstructured.Unstructured) error {
		subsets := objects.Maps(objects.Slice(spec(u), "subsets"))
		for _, want := range []struct{ name, hash string }{{dr.CanarySubsetName, canaryHash}, {dr.StableSubsetName, stableHash}} {
			var subset map[string]any
			for _, s := range subsets {
				if objects.String(s, "name") == want.name {
					subset = s
				}
			}
			if subset == nil {
				return fmt.Errorf("no subset named %q", want.name)
			}
			labels, _ := subset["labels"].(map[string]any)
			if labels == nil {
				labels = map[string]any{}
			}
			if want.hash == "" {
				delete(labels, v1alpha1.DefaultRolloutUniqueLabelKey)
			} else {
				labels[v1alpha1.DefaultRolloutUniqueLabelKey] = want.hash
			}
			if len(labels) == 0 {
				delete(subset, "labels")
			} else {
				subset["labels"] = labels
			}
		}
		ann := u.GetAnnotations()
		if ann[v1alpha1.ManagedByRolloutsKey] != r.t.Rollout.Name {
			if ann == nil {
				ann = map[string]string{}
			}
			ann[v1alpha1.ManagedByRolloutsKey] = r.t.Rollout.Name
			u.SetAnnotations(ann)
		}
		return nil
	})
	return err
}

// ReferencedHashes implements trafficrouting.HashReferencer: the hashes
// the DestinationRule's canary and stable subsets select.
func (r *Router) ReferencedHashes(ctx context.Context) ([]string, error) {
	dr := r.cfg.DestinationRule
	if dr == nil {
		return nil, nil
	}
	u, err := objects.Get(ctx, r.c, r.ref(destinationRuleGK, dr.Name))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range objects.Maps(objects.Slice(spec(u), "subsets")) {
		if n := objects.String(s, "name"); n != dr.CanarySubsetName && n != dr.StableSubsetName {
			continue
		}
		labels, _ := s["labels"].(map[string]any)
		if h, _ := labels[v1alpha1.DefaultRolloutUniqueLabelKey].(string); h != "" {
			out = append(out, h)
		}
	}
	return out, nil
}

// canaryDestination is the canary destination of the first weighted HTTP
// route: where header routes send and mirror routes copy to.
func (r *Router) canaryDestination(vs v1alpha1.IstioVirtualService, u *unstructured.Unstructured) (map[string]any, []any, error) {
	routes, err := r.httpRoutes(vs, u, r.t.ManagedRouteNames())
	if err != nil {
		return nil, nil, err
	}
	m := r.matcher()
	for _, rt := range routes {
		for _, d := range objects.Maps(objects.Slice(rt, "route")) {
			dest, _ := d["destination"].(map[string]any)
			if m.role(dest) == "canary" {
				return runtime.DeepCopyJSONValue(dest).(map[string]any), runtime.DeepCopyJSONValue(objects.Slice(rt, "route")).([]any), nil
			}
		}
	}
	return nil, nil, fmt.Errorf("no HTTP route has a destination for the canary (%s)", m.canary)
}

// SetHeaderRoute implements trafficrouting.Router.
func (r *Router) SetHeaderRoute(ctx context.Context, h *v1alpha1.SetHeaderRoute) error {
	return r.eachVS(ctx, func(vs v1alpha1.IstioVirtualService, u *unstructured.Unstructured) error {
		var route map[string]any
		if len(h.Match) > 0 {
			dest, _, err := r.canaryDestination(vs, u)
			if err != nil {
				return err
			}
			var matches []any
			for _, m := range h.Match {
				if m.HeaderValue == nil {
					return fmt.Errorf("header %q has no value to match", m.HeaderName)
				}
				matches = append(matches, map[string]any{"headers": map[string]any{m.HeaderName: stringMatch(*m.HeaderValue)}})
			}
			route = map[string]any{
				"name":  h.Name,
				"match": matches,
				"route": []any{map[string]any{"destination": dest, "weight": int64(100)}},
			}
		}
		return r.putRoute(u, h.Name, route)
	})
}

// SetMirrorRoute implements trafficrouting.Router.
func (r *Router) SetMirrorRoute(ctx context.Context, mr *v1alpha1.SetMirrorRoute) error {
	return r.eachVS(ctx, func(vs v1alpha1.IstioVirtualService, u *unstructured.Unstructured) error {
		var route map[string]any
		if len(mr.Match) > 0 {
			dest, weighted, err := r.canaryDestination(vs, u)
			if err != nil {
				return err
			}
			var matches []any
			for _, m := range mr.Match {
				match := map[string]any{}
				if m.Method != nil {
					match["method"] = stringMatch(*m.Method)
				}
				if m.Path != nil {
					match["uri"] = stringMatch(*m.Path)
				}
				if len(m.Headers) > 0 {
					hs := map[string]any{}
					for k, v := range m.Headers {
						hs[k] = stringMatch(v)
					}
					match["headers"] = hs
				}
				matches = append(matches, match)
			}
			pct := int32(100)
			if mr.Percentage != nil {
				pct = *mr.Percentage
			}
			route = map[string]any{
				"name":             mr.Name,
				"match":            matches,
				"route":            weighted,
				"mirror":           dest,
				"mirrorPercentage": map[string]any{"value": float64(pct)},
			}
		}
		return r.putRoute(u, mr.Name, route)
	})
}

func stringMatch(s v1alpha1.StringMatch) map[string]any {
	switch {
	case s.Exact != "":
		return map[string]any{"exact": s.Exact}
	case s.Prefix != "":
		return map[string]any{"prefix": s.Prefix}
	}
	return map[string]any{"regex": s.Regex}
}

// putRoute replaces (or, route nil, removes) the HTTP route named name, then
// puts the managed routes first, in managedRoutes order.
func (r *Router) putRoute(u *unstructured.Unstructured, name string, route map[string]any) error {
	var routes []any
	for _, rt := range objects.Slice(spec(u), "http") {
		if m, ok := rt.(map[string]any); ok && objects.String(m, "name") == name {
			continue
		}
		routes = append(routes, rt)
	}
	if route != nil {
		routes = append(routes, route)
	}
	order := map[string]int{}
	for i, n := range r.t.ManagedRouteNames() {
		order[n] = i
	}
	rank := func(e any) int {
		m, _ := e.(map[string]any)
		if i, ok := order[objects.String(m, "name")]; ok {
			return i
		}
		return len(order)
	}
	sort.SliceStable(routes, func(a, b int) bool { return rank(routes[a]) < rank(routes[b]) })
	if len(routes) == 0 {
		delete(spec(u), "http")
		return nil
	}
	spec(u)["http"] = routes
	return nil
}

// RemoveManagedRoutes implements trafficrouting.Router: every route named
// by managedRoutes or by a step, from every VirtualService.
func (r *Router) RemoveManagedRoutes(ctx context.Context) error {
	names := map[string]bool{}
	for _, n := range r.t.ManagedRouteNames() {
		names[n] = true
	}
	if len(names) == 0 {
		return nil
	}
	return r.eachVS(ctx, func(_ v1alpha1.IstioVirtualService, u *unstructured.Unstructured) error {
		routes := objects.Slice(spec(u), "http")
		var kept []any
		for _, rt := range routes {
			if m, ok := rt.(map[string]any); ok && names[objects.String(m, "name")] {
				continue
			}
			kept = append(kept, rt)
		}
		switch {
		case len(kept) == len(routes):
		case len(kept) == 0:
			delete(spec(u), "http")
		default:
			spec(u)["http"] = kept
		}
		return nil
	})
}

// VerifyWeight implements trafficrouting.Router: it cannot tell.
func (r *Router) VerifyWeight(context.Context, trafficrouting.Split) (*bool, error) { return nil, nil }
