package gwconfig_test

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/switchyard-dev/switchyard/internal/trafficrouting/gwconfig"
)

func TestParseTheReferenceShape(t *testing.T) {
	c, err := gwconfig.Parse([]byte(`{
		"httpRoute": "single",
		"httpRoutes": [{"name": "a", "useHeaderRoutes": true}, {"name": "b"}],
		"grpcRoute": "g",
		"tcpRoutes": [{"name": "t", "useHeaderRoutes": true}],
		"tlsRoute": "s",
		"namespace": "gw",
		"inProgressLabelKey": "k",
		"configMap": "argo-gatewayapi-configmap",
		"somethingNew": {"ignored": true}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	check := func(k gwconfig.Kind, want []gwconfig.Route) {
		t.Helper()
		if got := c.Routes(k); !reflect.DeepEqual(got, want) {
			t.Errorf("%s routes %+v, want %+v", k, got, want)
		}
	}
	check(gwconfig.HTTPRoute, []gwconfig.Route{{Name: "a", UseHeaderRoutes: true}, {Name: "b"}, {Name: "single", UseHeaderRoutes: true}})
	check(gwconfig.GRPCRoute, []gwconfig.Route{{Name: "g", UseHeaderRoutes: true}})
	check(gwconfig.TCPRoute, []gwconfig.Route{{Name: "t"}})
	check(gwconfig.TLSRoute, []gwconfig.Route{{Name: "s"}})
	if c.Namespace != "gw" {
		t.Errorf("namespace %q", c.Namespace)
	}
	if k, v, ok := c.InProgressLabel(); k != "k" || v != gwconfig.DefaultInProgressLabelValue || !ok {
		t.Errorf("label %q=%q %v", k, v, ok)
	}
	c.DisableInProgressLabel = true
	if _, _, ok := c.InProgressLabel(); ok {
		t.Error("disabled label still on")
	}
}

func TestValidate(t *testing.T) {
	p := field.NewPath("plugins").Key(gwconfig.PluginName)
	if errs := gwconfig.Validate([]byte(`{"httpRouteSelector":{"matchLabels":{"app":"web"}}}`), p); len(errs) != 0 {
		t.Errorf("a selector alone is enough: %v", errs)
	}
	if errs := gwconfig.Validate([]byte(`{}`), p); len(errs) != 1 || errs[0].Type != field.ErrorTypeRequired {
		t.Errorf("no route: %v", errs)
	}
	if errs := gwconfig.Validate([]byte(`{"tcpRoutes":[{"name":""}]}`), p); len(errs) != 1 || errs[0].Field != "plugins[argoproj-labs/gatewayAPI].tcpRoutes[0].name" {
		t.Errorf("unnamed route: %v", errs)
	}
	if errs := gwconfig.Validate([]byte(`{"grpcRouteSelector":{"matchExpressions":[{"key":"a","operator":"Bogus"}]}}`), p); len(errs) == 0 {
		t.Error("a bad selector is refused")
	}
}
