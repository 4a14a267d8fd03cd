package routers_test

import (
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting"
	"github.com/switchyard-dev/switchyard/internal/trafficrouting/routers"
)

func TestForBuildsRoutersInAFixedOrder(t *testing.T) {
	ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		TrafficRouting: &v1alpha1.RolloutTrafficRouting{
			Plugins: map[string]apiextensionsv1.JSON{"argoproj-labs/gatewayAPI": {Raw: []byte(`{"httpRoute":"web"}`)}},
			ALB:     &v1alpha1.ALBTrafficRouting{Ingress: "i", ServicePort: 80},
			Nginx:   &v1alpha1.NginxTrafficRouting{StableIngress: "i"},
			Istio:   &v1alpha1.IstioTrafficRouting{VirtualService: &v1alpha1.IstioVirtualService{Name: "vs"}},
		},
	}}}}
	rs, err := routers.For(nil, trafficrouting.Target{Rollout: ro}, routers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Type())
	}
	if want := "Istio,Nginx,ALB,GatewayAPI"; strings.Join(got, ",") != want {
		t.Errorf("routers %v, want %s", got, want)
	}

	ro.Spec.Strategy.Canary.TrafficRouting.Plugins["acme/router"] = apiextensionsv1.JSON{Raw: []byte(`{}`)}
	if _, err := routers.For(nil, trafficrouting.Target{Rollout: ro}, routers.Options{}); err == nil {
		t.Error("an unknown plugin is an error")
	}
	ro.Spec.Strategy.Canary.TrafficRouting = nil
	if rs, err := routers.For(nil, trafficrouting.Target{Rollout: ro}, routers.Options{}); err != nil || len(rs) != 0 {
		t.Errorf("no trafficRouting: %v %v", rs, err)
	}
}

func TestObjectRefsNameWhatTheRoutersWrite(t *testing.T) {
	ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		TrafficRouting: &v1alpha1.RolloutTrafficRouting{
			Plugins: map[string]apiextensionsv1.JSON{"argoproj-labs/gatewayAPI": {Raw: []byte(`{"httpRoute":"web","grpcRoutes":[{"name":"rpc"}],"namespace":"edge"}`)}},
			Nginx:   &v1alpha1.NginxTrafficRouting{StableIngress: "i"},
			Istio: &v1alpha1.IstioTrafficRouting{
				VirtualServices: []v1alpha1.IstioVirtualService{{Name: "vs"}, {Name: "other.mesh.svc.cluster.local"}},
				DestinationRule: &v1alpha1.IstioDestinationRule{Name: "dr"},
			},
		},
	}}}}
	ro.Namespace = "shop"
	var got []string
	for _, ref := range routers.ObjectRefs(nil, ro) {
		got = append(got, ref.String())
	}
	want := "VirtualService shop/vs,VirtualService mesh/other,DestinationRule shop/dr,HTTPRoute edge/web,GRPCRoute edge/rpc"
	if strings.Join(got, ",") != want {
		t.Errorf("ObjectRefs() = %v, want %s", got, want)
	}
}
