package trafficrouting

import (
	"fmt"
	"net/http"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/gwconfig"
)

// Messages clients may match on.
const (
	NeedsTrafficRoutingMessage = "can only be used with trafficRouting"
	NoRouterMessage            = "one of istio, nginx, alb or plugins[\"" + gwconfig.PluginName + "\"] must be set"
	ScaleDownDelayAndDynamic   = "scaleDownDelaySeconds and dynamicStableScale can not both be set"
	NotInManagedRoutesMessage  = "must be listed in trafficRouting.managedRoutes"
)

// unsupported are the reference's routers Switchyard does not drive.
var unsupported = []struct {
	field, name string
	set         func(*v1alpha1.RolloutTrafficRouting) bool
}{
	{"smi", "SMI", func(t *v1alpha1.RolloutTrafficRouting) bool { return t.SMI != nil }},
	{"ambassador", "Ambassador", func(t *v1alpha1.RolloutTrafficRouting) bool { return t.Ambassador != nil }},
	{"appMesh", "App Mesh", func(t *v1alpha1.RolloutTrafficRouting) bool { return t.AppMesh != nil }},
	{"traefik", "Traefik", func(t *v1alpha1.RolloutTrafficRouting) bool { return t.Traefik != nil }},
	{"apisix", "APISIX", func(t *v1alpha1.RolloutTrafficRouting) bool { return t.Apisix != nil }},
}

// Validate checks the traffic-routing rules of a canary Rollout, naming
// each offending field: the knobs that need a router, the router blocks
// (unsupported routers are Forbidden, naming the router), the Services a
// router needs, maxTrafficWeight, header and mirror route steps,
// managedRoutes and pingPong. It is pure; ValidateServices checks the
// referenced Services.
func Validate(ro *v1alpha1.Rollout) field.ErrorList {
	c := ro.Spec.Strategy.Canary
	if c == nil {
		return nil
	}
	p := field.NewPath("spec", "strategy", "canary")
	tr := c.TrafficRouting
	if tr == nil {
		return validateWithoutRouter(c, p)
	}
	trp := p.Child("trafficRouting")
	var errs field.ErrorList

	for _, u := range unsupported {
		if u.set(tr) {
			errs = append(errs, field.Forbidden(trp.Child(u.field), fmt.Sprintf("the %s traffic router is not supported; use istio, nginx, alb or the Gateway API (plugins[\"%s\"])", u.name, gwconfig.PluginName)))
		}
	}
	gateway := false
	for _, name := range sortedKeys(tr.Plugins) {
		pp := trp.Child("plugins").Key(name)
		if name != gwconfig.PluginName {
			errs = append(errs, field.Forbidden(pp, fmt.Sprintf("traffic router plugin %q is not supported; only %q is, implemented natively", name, gwconfig.PluginName)))
			continue
		}
		gateway = true
		errs = append(errs, gwconfig.Validate(tr.Plugins[name].Raw, pp)...)
	}
	if tr.Istio == nil && tr.Nginx == nil && tr.ALB == nil && !gateway && len(errs) == 0 {
		errs = append(errs, field.Required(trp, NoRouterMessage))
	}
	errs = append(errs, validateNginx(tr.Nginx, trp.Child("nginx"))...)
	errs = append(errs, validateALB(tr.ALB, c.PingPong != nil, trp.Child("alb"))...)
	errs = append(errs, validateIstio(tr.Istio, trp.Child("istio"))...)

	// The Services the routers send the weights to.
	var needServices []string
	if tr.Nginx != nil {
		needServices = append(needServices, "nginx")
	}
	if tr.ALB != nil && c.PingPong == nil {
		needServices = append(needServices, "alb")
	}
	if tr.Istio != nil && tr.Istio.DestinationRule == nil && c.PingPong == nil {
		needServices = append(needServices, "istio (without destinationRule)")
	}
	if len(needServices) > 0 {
		if c.CanaryService == "" {
			errs = append(errs, field.Required(p.Child("canaryService"), fmt.Sprintf("required by the %s traffic router", needServices[0])))
		}
		if c.StableService == "" {
			errs = append(errs, field.Required(p.Child("stableService"), fmt.Sprintf("required by the %s traffic router", needServices[0])))
		}
	}
	if c.CanaryService != "" && c.CanaryService == c.StableService {
		errs = append(errs, field.Invalid(p.Child("stableService"), c.StableService, "canaryService and stableService must name two different Services"))
	}

	total := int64(DefaultMaxWeight)
	if m := tr.MaxTrafficWeight; m != nil {
		switch {
		case *m <= 0:
			errs = append(errs, field.Invalid(trp.Child("maxTrafficWeight"), *m, "must be greater than 0"))
		case tr.Istio != nil || tr.ALB != nil:
			errs = append(errs, field.Invalid(trp.Child("maxTrafficWeight"), *m, "only the nginx and Gateway API traffic routers accept maxTrafficWeight"))
		default:
			total = int64(*m)
		}
	}
	if c.DynamicStableScale && c.ScaleDownDelaySeconds != nil {
		errs = append(errs, field.Invalid(p.Child("dynamicStableScale"), true, ScaleDownDelayAndDynamic))
	}

	managed := map[string]bool{}
	for i, m := range tr.ManagedRoutes {
		mp := trp.Child("managedRoutes").Index(i).Child("name")
		switch {
		case m.Name == "":
			errs = append(errs, field.Required(mp, "a managed route needs a name"))
		case managed[m.Name]:
			errs = append(errs, field.Duplicate(mp, m.Name))
		}
		managed[m.Name] = true
	}

	for i := range c.Steps {
		sp := p.Child("steps").Index(i)
		s := &c.Steps[i]
		if s.SetWeight != nil && (int64(*s.SetWeight) < 0 || int64(*s.SetWeight) > total) {
			errs = append(errs, field.Invalid(sp.Child("setWeight"), *s.SetWeight, fmt.Sprintf("must be between 0 and %d (maxTrafficWeight)", total)))
		}
		if s.SetCanaryScale != nil && s.SetCanaryScale.Weight != nil && (int64(*s.SetCanaryScale.Weight) < 0 || int64(*s.SetCanaryScale.Weight) > total) {
			errs = append(errs, field.Invalid(sp.Child("setCanaryScale", "weight"), *s.SetCanaryScale.Weight, fmt.Sprintf("must be between 0 and %d (maxTrafficWeight)", total)))
		}
		if h := s.SetHeaderRoute; h != nil {
			errs = append(errs, validateHeaderRoute(h, tr, gateway, managed, sp.Child("setHeaderRoute"))...)
		}
		if m := s.SetMirrorRoute; m != nil {
			errs = append(errs, validateMirrorRoute(m, tr, gateway, managed, sp.Child("setMirrorRoute"))...)
		}
	}

	if pp := c.PingPong; pp != nil {
		ppp := p.Child("pingPong")
		if pp.PingService == "" {
			errs = append(errs, field.Required(ppp.Child("pingService"), "the ping Service is required"))
		}
		if pp.PongService == "" {
			errs = append(errs, field.Required(ppp.Child("pongService"), "the pong Service is required"))
		}
		if pp.PingService != "" && pp.PingService == pp.PongService {
			errs = append(errs, field.Invalid(ppp.Child("pongService"), pp.PongService, "pingService and pongService must name two different Services"))
		}
		if tr.ALB == nil && tr.Istio == nil && !gateway {
			errs = append(errs, field.Invalid(ppp, "pingPong", "pingPong needs the alb, istio or Gateway API traffic router"))
		}
		if tr.ALB != nil && tr.ALB.RootService == "" {
			errs = append(errs, field.Required(trp.Child("alb", "rootService"), "required with pingPong"))
		}
	}
	return errs
}

// validateWithoutRouter refuses the knobs that only mean something with a router.
func validateWithoutRouter(c *v1alpha1.CanaryStrategy, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if c.ScaleDownDelaySeconds != nil {
		errs = append(errs, field.Invalid(p.Child("scaleDownDelaySeconds"), *c.ScaleDownDelaySeconds, NeedsTrafficRoutingMessage))
	}
	if c.DynamicStableScale {
		errs = append(errs, field.Invalid(p.Child("dynamicStableScale"), true, NeedsTrafficRoutingMessage))
	}
	if c.PingPong != nil {
		errs = append(errs, field.Invalid(p.Child("pingPong"), "pingPong", NeedsTrafficRoutingMessage))
	}
	for i, s := range c.Steps {
		sp := p.Child("steps").Index(i)
		if s.SetCanaryScale != nil {
			errs = append(errs, field.Invalid(sp.Child("setCanaryScale"), "setCanaryScale", NeedsTrafficRoutingMessage))
		}
		if s.SetHeaderRoute != nil {
			errs = append(errs, field.Invalid(sp.Child("setHeaderRoute"), "setHeaderRoute", NeedsTrafficRoutingMessage))
		}
		if s.SetMirrorRoute != nil {
			errs = append(errs, field.Invalid(sp.Child("setMirrorRoute"), "setMirrorRoute", NeedsTrafficRoutingMessage))
		}
	}
	return errs
}

func validateNginx(n *v1alpha1.NginxTrafficRouting, p *field.Path) field.ErrorList {
	if n == nil {
		return nil
	}
	var errs field.ErrorList
	switch {
	case n.StableIngress == "" && len(n.StableIngresses) == 0:
		errs = append(errs, field.Required(p.Child("stableIngress"), "one of stableIngress or stableIngresses is required"))
	case n.StableIngress != "" && len(n.StableIngresses) > 0:
		errs = append(errs, field.Invalid(p.Child("stableIngresses"), n.StableIngresses, "stableIngress and stableIngresses can not both be set"))
	}
	errs = append(errs, names(n.StableIngresses, p.Child("stableIngresses"))...)
	return errs
}

func validateALB(a *v1alpha1.ALBTrafficRouting, pingPong bool, p *field.Path) field.ErrorList {
	if a == nil {
		return nil
	}
	var errs field.ErrorList
	switch {
	case a.Ingress == "" && len(a.Ingresses) == 0:
		errs = append(errs, field.Required(p.Child("ingress"), "one of ingress or ingresses is required"))
	case a.Ingress != "" && len(a.Ingresses) > 0:
		errs = append(errs, field.Invalid(p.Child("ingresses"), a.Ingresses, "ingress and ingresses can not both be set"))
	}
	errs = append(errs, names(a.Ingresses, p.Child("ingresses"))...)
	if a.ServicePort <= 0 || a.ServicePort > 65535 {
		errs = append(errs, field.Invalid(p.Child("servicePort"), a.ServicePort, "must be a port number between 1 and 65535"))
	}
	if s := a.StickinessConfig; s != nil && s.Enabled && (s.DurationSeconds < 1 || s.DurationSeconds > 604800) {
		errs = append(errs, field.Invalid(p.Child("stickinessConfig", "durationSeconds"), s.DurationSeconds, "must be between 1 and 604800 seconds"))
	}
	return errs
}

func validateIstio(is *v1alpha1.IstioTrafficRouting, p *field.Path) field.ErrorList {
	if is == nil {
		return nil
	}
	var errs field.ErrorList
	switch {
	case is.VirtualService == nil && len(is.VirtualServices) == 0:
		errs = append(errs, field.Required(p.Child("virtualService"), "one of virtualService or virtualServices is required"))
	case is.VirtualService != nil && len(is.VirtualServices) > 0:
		errs = append(errs, field.Invalid(p.Child("virtualServices"), len(is.VirtualServices), "virtualService and virtualServices can not both be set"))
	}
	check := func(vs v1alpha1.IstioVirtualService, vp *field.Path) {
		if vs.Name == "" {
			errs = append(errs, field.Required(vp.Child("name"), "the VirtualService's name is required"))
		}
		errs = append(errs, names(vs.Routes, vp.Child("routes"))...)
		for i, t := range vs.TLSRoutes {
			if t.Port < 0 || t.Port > 65535 {
				errs = append(errs, field.Invalid(vp.Child("tlsRoutes").Index(i).Child("port"), t.Port, "must be a port number"))
			}
		}
		for i, t := range vs.TCPRoutes {
			if t.Port < 0 || t.Port > 65535 {
				errs = append(errs, field.Invalid(vp.Child("tcpRoutes").Index(i).Child("port"), t.Port, "must be a port number"))
			}
		}
	}
	if is.VirtualService != nil {
		check(*is.VirtualService, p.Child("virtualService"))
	}
	for i, vs := range is.VirtualServices {
		check(vs, p.Child("virtualServices").Index(i))
	}
	if dr := is.DestinationRule; dr != nil {
		dp := p.Child("destinationRule")
		for _, f := range []struct{ name, v string }{{"name", dr.Name}, {"canarySubsetName", dr.CanarySubsetName}, {"stableSubsetName", dr.StableSubsetName}} {
			if f.v == "" {
				errs = append(errs, field.Required(dp.Child(f.name), "required"))
			}
		}
		if dr.CanarySubsetName != "" && dr.CanarySubsetName == dr.StableSubsetName {
			errs = append(errs, field.Invalid(dp.Child("stableSubsetName"), dr.StableSubsetName, "canarySubsetName and stableSubsetName must differ"))
		}
	}
	return errs
}

func validateHeaderRoute(h *v1alpha1.SetHeaderRoute, tr *v1alpha1.RolloutTrafficRouting, gateway bool, managed map[string]bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if tr.Istio == nil && tr.ALB == nil && !gateway {
		errs = append(errs, field.Invalid(p, "setHeaderRoute", "setHeaderRoute needs the istio, alb or Gateway API traffic router"))
	}
	errs = append(errs, managedName(h.Name, managed, p.Child("name"))...)
	for i, m := range h.Match {
		mp := p.Child("match").Index(i)
		if m.HeaderName == "" {
			errs = append(errs, field.Required(mp.Child("headerName"), "the header's name is required"))
		}
		vp := mp.Child("headerValue")
		switch {
		case m.HeaderValue == nil:
			errs = append(errs, field.Required(vp, "one of exact, prefix or regex is required"))
		case tr.ALB != nil && (m.HeaderValue.Exact == "" || m.HeaderValue.Prefix != "" || m.HeaderValue.Regex != ""):
			errs = append(errs, field.Invalid(vp, *m.HeaderValue, "the alb traffic router matches headers exactly: set exact only"))
		default:
			errs = append(errs, oneMatch(m.HeaderValue, vp)...)
		}
	}
	return errs
}

func validateMirrorRoute(m *v1alpha1.SetMirrorRoute, tr *v1alpha1.RolloutTrafficRouting, gateway bool, managed map[string]bool, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if tr.Istio == nil && !gateway {
		errs = append(errs, field.Invalid(p, "setMirrorRoute", "setMirrorRoute needs the istio or Gateway API traffic router"))
	}
	errs = append(errs, managedName(m.Name, managed, p.Child("name"))...)
	if m.Percentage != nil && (*m.Percentage < 0 || *m.Percentage > 100) {
		errs = append(errs, field.Invalid(p.Child("percentage"), *m.Percentage, "must be between 0 and 100"))
	}
	for i, rm := range m.Match {
		mp := p.Child("match").Index(i)
		if rm.Method == nil && rm.Path == nil && len(rm.Headers) == 0 {
			errs = append(errs, field.Required(mp, "one of method, path or headers is required"))
		}
		if rm.Method != nil {
			errs = append(errs, oneMatch(rm.Method, mp.Child("method"))...)
			if gateway && (rm.Method.Exact == "" || !knownMethod(rm.Method.Exact)) {
				errs = append(errs, field.Invalid(mp.Child("method"), *rm.Method, "the Gateway API matches an HTTP method exactly: set exact to GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE or PATCH"))
			}
		}
		if rm.Path != nil {
			errs = append(errs, oneMatch(rm.Path, mp.Child("path"))...)
		}
		for _, k := range sortedKeys(rm.Headers) {
			v := rm.Headers[k]
			errs = append(errs, oneMatch(&v, mp.Child("headers").Key(k))...)
		}
	}
	return errs
}

func knownMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
		http.MethodConnect, http.MethodOptions, http.MethodTrace, http.MethodPatch:
		return true
	}
	return false
}

func managedName(name string, managed map[string]bool, p *field.Path) field.ErrorList {
	switch {
	case name == "":
		return field.ErrorList{field.Required(p, "the route's name is required")}
	case !managed[name]:
		return field.ErrorList{field.Invalid(p, name, NotInManagedRoutesMessage)}
	}
	return nil
}

// oneMatch requires exactly one of exact, prefix and regex.
func oneMatch(m *v1alpha1.StringMatch, p *field.Path) field.ErrorList {
	n := 0
	for _, v := range []string{m.Exact, m.Prefix, m.Regex} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return field.ErrorList{field.Invalid(p, *m, "exactly one of exact, prefix or regex must be set")}
	}
	return nil
}

func names(list []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, n := range list {
		if n == "" {
			errs = append(errs, field.Required(p.Index(i), "a name is required"))
		}
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ValidateServices checks the Services a traffic-routed canary names
// (canary, stable, ping and pong; services maps name to the Service, nil
// when it does not exist): each must exist; every selector key but the
// pod-template hash must be in the pod template's labels with the same
// value; and a Service managed by another Rollout is refused.
func ValidateServices(ro *v1alpha1.Rollout, services map[string]*corev1.Service) field.ErrorList {
	c := ro.Spec.Strategy.Canary
	if c == nil || c.TrafficRouting == nil {
		return nil
	}
	p := field.NewPath("spec", "strategy", "canary")
	refs := []struct {
		path *field.Path
		name string
	}{{p.Child("canaryService"), c.CanaryService}, {p.Child("stableService"), c.StableService}}
	if c.PingPong != nil {
		refs = append(refs,
			struct {
				path *field.Path
				name string
			}{p.Child("pingPong", "pingService"), c.PingPong.PingService},
			struct {
				path *field.Path
				name string
			}{p.Child("pingPong", "pongService"), c.PingPong.PongService})
	}
	var errs field.ErrorList
	for _, ref := range refs {
		if ref.name == "" {
			continue
		}
		svc := services[ref.name]
		if svc == nil {
			errs = append(errs, field.NotFound(ref.path, ref.name))
			continue
		}
		if owner := svc.Annotations[v1alpha1.ManagedByRolloutsKey]; owner != "" && owner != ro.Name {
			errs = append(errs, field.Invalid(ref.path, ref.name, fmt.Sprintf("Service %q is managed by Rollout %q", ref.name, owner)))
		}
		for _, k := range sortedKeys(svc.Spec.Selector) {
			if k == v1alpha1.DefaultRolloutUniqueLabelKey {
				continue
			}
			if v, ok := ro.Spec.Template.Labels[k]; !ok || v != svc.Spec.Selector[k] {
				errs = append(errs, field.Invalid(ref.path, ref.name, fmt.Sprintf("Service %q selects %s=%s, which the pod template's labels do not have", ref.name, k, svc.Spec.Selector[k])))
			}
		}
	}
	return errs
}
