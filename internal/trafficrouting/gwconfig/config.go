// Package gwconfig reads the configuration of the Gateway API traffic
// router: the value of trafficRouting.plugins["argoproj-labs/gatewayAPI"],
// in the shape the reference's Gateway API plugin reads, so manifests
// written for the plugin apply unchanged. Switchyard implements the router
// natively (package gatewayapi); no plugin binary is involved.
package gwconfig

import (
	"bytes"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// PluginName is the key of the configuration under trafficRouting.plugins.
const PluginName = "argoproj-labs/gatewayAPI"

// Defaults of the in-progress label written on routes while the canary has
// weight.
const (
	DefaultInProgressLabelKey   = "rollouts.argoproj.io/gatewayapi-canary"
	DefaultInProgressLabelValue = "in-progress"
)

// Route names one route object. UseHeaderRoutes marks the routes header
// and mirror routes are written to.
type Route struct {
	Name            string `json:"name"`
	UseHeaderRoutes bool   `json:"useHeaderRoutes,omitempty"`
}

// Config is the plugin configuration. Unknown keys are ignored.
type Config struct {
	HTTPRoute  string  `json:"httpRoute,omitempty"`
	HTTPRoutes []Route `json:"httpRoutes,omitempty"`
	GRPCRoute  string  `json:"grpcRoute,omitempty"`
	GRPCRoutes []Route `json:"grpcRoutes,omitempty"`
	TCPRoute   string  `json:"tcpRoute,omitempty"`
	TCPRoutes  []Route `json:"tcpRoutes,omitempty"`
	TLSRoute   string  `json:"tlsRoute,omitempty"`
	TLSRoutes  []Route `json:"tlsRoutes,omitempty"`

	// The selectors add every route of that kind they match in Namespace
	// (never header-routed).
	HTTPRouteSelector *metav1.LabelSelector `json:"httpRouteSelector,omitempty"`
	GRPCRouteSelector *metav1.LabelSelector `json:"grpcRouteSelector,omitempty"`
	TCPRouteSelector  *metav1.LabelSelector `json:"tcpRouteSelector,omitempty"`
	TLSRouteSelector  *metav1.LabelSelector `json:"tlsRouteSelector,omitempty"`

	// Namespace holds every route; empty means the Rollout's namespace.
	Namespace string `json:"namespace,omitempty"`

	DisableInProgressLabel bool   `json:"disableInProgressLabel,omitempty"`
	InProgressLabelKey     string `json:"inProgressLabelKey,omitempty"`
	InProgressLabelValue   string `json:"inProgressLabelValue,omitempty"`

	// ConfigMap was the plugin's header-route bookkeeping up to its 0.12.0;
	// accepted and ignored (the rule names are the record).
	ConfigMap string `json:"configMap,omitempty"`
}

// Parse decodes the configuration. JSON null and {} are an empty config.
func Parse(raw []byte) (Config, error) {
	var c Config
	if len(bytes.TrimSpace(raw)) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("decode %s configuration: %w", PluginName, err)
	}
	return c, nil
}

// Kind is a Gateway API route kind.
type Kind string

// The route kinds, in the order SetWeight visits them.
const (
	HTTPRoute Kind = "HTTPRoute"
	GRPCRoute Kind = "GRPCRoute"
	TCPRoute  Kind = "TCPRoute"
	TLSRoute  Kind = "TLSRoute"
)

// Kinds lists the route kinds in visiting order.
var Kinds = []Kind{HTTPRoute, GRPCRoute, TCPRoute, TLSRoute}

// Routes are the named routes of a kind: the list, then the singular key
// (which implies useHeaderRoutes). TCP and TLS routes never carry header
// routes.
func (c Config) Routes(k Kind) []Route {
	var list []Route
	var single string
	switch k {
	case HTTPRoute:
		list, single = c.HTTPRoutes, c.HTTPRoute
	case GRPCRoute:
		list, single = c.GRPCRoutes, c.GRPCRoute
	case TCPRoute:
		list, single = c.TCPRoutes, c.TCPRoute
	case TLSRoute:
		list, single = c.TLSRoutes, c.TLSRoute
	}
	out := append([]Route(nil), list...)
	if single != "" {
		out = append(out, Route{Name: single, UseHeaderRoutes: true})
	}
	if k == TCPRoute || k == TLSRoute {
		for i := range out {
			out[i].UseHeaderRoutes = false
		}
	}
	return out
}

// Selector is the label selector of a kind, nil if unset.
func (c Config) Selector(k Kind) *metav1.LabelSelector {
	switch k {
	case HTTPRoute:
		return c.HTTPRouteSelector
	case GRPCRoute:
		return c.GRPCRouteSelector
	case TCPRoute:
		return c.TCPRouteSelector
	case TLSRoute:
		return c.TLSRouteSelector
	}
	return nil
}

// InProgressLabel is the label written on routes while the canary has
// weight; ok is false when disabled.
func (c Config) InProgressLabel() (key, value string, ok bool) {
	if c.DisableInProgressLabel {
		return "", "", false
	}
	key, value = c.InProgressLabelKey, c.InProgressLabelValue
	if key == "" {
		key = DefaultInProgressLabelKey
	}
	if value == "" {
		value = DefaultInProgressLabelValue
	}
	return key, value, true
}

// Validate checks the configuration at path (the plugins entry).
func Validate(raw []byte, path *field.Path) field.ErrorList {
	c, err := Parse(raw)
	if err != nil {
		return field.ErrorList{field.Invalid(path, string(raw), err.Error())}
	}
	var errs field.ErrorList
	found := false
	for _, k := range Kinds {
		if c.Selector(k) != nil {
			found = true
			errs = append(errs, metav1validation.ValidateLabelSelector(c.Selector(k),
				metav1validation.LabelSelectorValidationOptions{}, path.Child(lowerFirst(string(k))+"Selector"))...)
		}
		for i, r := range listOf(c, k) {
			found = true
			if r.Name == "" {
				errs = append(errs, field.Required(path.Child(lowerFirst(string(k))+"s").Index(i).Child("name"), "the route's name is required"))
			}
		}
		if singleOf(c, k) != "" {
			found = true
		}
	}
	if !found {
		errs = append(errs, field.Required(path, "at least one of httpRoute(s), grpcRoute(s), tcpRoute(s), tlsRoute(s) or a route selector must be set"))
	}
	return errs
}

func listOf(c Config, k Kind) []Route {
	switch k {
	case HTTPRoute:
		return c.HTTPRoutes
	case GRPCRoute:
		return c.GRPCRoutes
	case TCPRoute:
		return c.TCPRoutes
	}
	return c.TLSRoutes
}

func singleOf(c Config, k Kind) string {
	switch k {
	case HTTPRoute:
		return c.HTTPRoute
	case GRPCRoute:
		return c.GRPCRoute
	case TCPRoute:
		return c.TCPRoute
	}
	return c.TLSRoute
}

// lowerFirst turns "HTTPRoute" into "httpRoute", "GRPCRoute" into "grpcRoute".
func lowerFirst(kind string) string {
	switch kind {
	case "HTTPRoute":
		return "httpRoute"
	case "GRPCRoute":
		return "grpcRoute"
	case "TCPRoute":
		return "tcpRoute"
	}
	return "tlsRoute"
}
