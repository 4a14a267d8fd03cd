// Package routers builds the traffic routers a Rollout configures, in the
// order they are driven: Istio, NGINX, ALB, then the Gateway API (the only
// plugin, implemented natively). The order is fixed, not the map order of
// trafficRouting.plugins.
package routers

import (
	"fmt"
	"sort"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/alb"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/gatewayapi"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/gwconfig"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/istio"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/nginx"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/objects"
)

// Options are the controller-wide router settings.
type Options struct {
	// ALBVerifier checks ALB weights against AWS; nil turns verification off.
	ALBVerifier alb.Verifier
}

// For builds the routers of a Rollout for one pass. A Rollout without
// trafficRouting has none. A plugin other than the Gateway API is an error
// (validation refuses it first).
func For(c client.Client, t trafficrouting.Target, opts Options) ([]trafficrouting.Router, error) {
	canary := t.Rollout.Spec.Strategy.Canary
	if canary == nil || canary.TrafficRouting == nil {
		return nil, nil
	}
	tr := canary.TrafficRouting
	var out []trafficrouting.Router
	if tr.Istio != nil {
		out = append(out, istio.New(c, t))
	}
	if tr.Nginx != nil {
		out = append(out, nginx.New(c, t))
	}
	if tr.ALB != nil {
		out = append(out, alb.New(c, t, opts.ALBVerifier))
	}
	names := make([]string, 0, len(tr.Plugins))
	for name := range tr.Plugins {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != gwconfig.PluginName {
			return nil, fmt.Errorf("traffic router plugin %q is not supported", name)
		}
		r, err := gatewayapi.New(c, t)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ObjectRefs are the custom objects (Gateway API routes, Istio
// VirtualServices and DestinationRules) a Rollout's routers write, by
// name: a change to one of them concerns the Rollout. Ingresses are not
// listed (the reconciler does not watch them; see internal/rollout).
func ObjectRefs(c client.Client, ro *v1alpha1.Rollout) []objects.Ref {
	canary := ro.Spec.Strategy.Canary
	if canary == nil || canary.TrafficRouting == nil {
		return nil
	}
	t := trafficrouting.Target{Rollout: ro}
	var out []objects.Ref
	if canary.TrafficRouting.Istio != nil {
		out = append(out, istio.New(c, t).ObjectRefs()...)
	}
	if _, ok := canary.TrafficRouting.Plugins[gwconfig.PluginName]; ok {
		if r, err := gatewayapi.New(c, t); err == nil {
			out = append(out, r.ObjectRefs()...)
		}
	}
	return out
}
