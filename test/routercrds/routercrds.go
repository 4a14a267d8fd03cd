// Package routercrds reads the custom resource definitions of the traffic
// routers Switchyard drives from those projects' own Go modules, at the
// versions go.mod pins: the Gateway API route kinds (standard channel, from
// sigs.k8s.io/gateway-api) and Istio's VirtualService and DestinationRule
// (from istio.io/api). Tests install them into their local cluster and the
// sandbox into its own; nothing is hand-written or downloaded.
package routercrds

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	// Pins istio.io/api, whose CRD file is read from the module cache.
	_ "istio.io/api/label"
)

// GatewayAPIKinds are the route kinds (resource names) the Gateway API
// router writes.
var GatewayAPIKinds = []string{"httproutes", "grpcroutes", "tcproutes", "tlsroutes"}

// IstioCRDs are the Istio CRDs the Istio router writes.
var IstioCRDs = []string{"virtualservices.networking.istio.io", "destinationrules.networking.istio.io"}

// GatewayAPI reads the route CRDs of the Gateway API's standard channel.
// root is the repository root (its go.mod picks the module version).
func GatewayAPI(root string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	dir, err := ModuleDir(root, "sigs.k8s.io/gateway-api")
	if err != nil {
		return nil, err
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, kind := range GatewayAPIKinds {
		crds, err := read(filepath.Join(dir, "config", "crd", "standard", "gateway.networking.k8s.io_"+kind+".yaml"))
		if err != nil {
			return nil, err
		}
		out = append(out, crds...)
	}
	if len(out) != len(GatewayAPIKinds) {
		return nil, fmt.Errorf("found %d of the %d Gateway API route CRDs", len(out), len(GatewayAPIKinds))
	}
	return out, nil
}

// Istio reads the VirtualService and DestinationRule CRDs.
func Istio(root string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	dir, err := ModuleDir(root, "istio.io/api")
	if err != nil {
		return nil, err
	}
	crds, err := read(filepath.Join(dir, "kubernetes", "customresourcedefinitions.gen.yaml"))
	if err != nil {
		return nil, err
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, c := range crds {
		for _, name := range IstioCRDs {
			if c.Name == name {
				out = append(out, c)
			}
		}
	}
	if len(out) != len(IstioCRDs) {
		return nil, fmt.Errorf("found %d of the %d Istio CRDs", len(out), len(IstioCRDs))
	}
	return out, nil
}

// All reads the Gateway API and the Istio CRDs.
func All(root string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	gw, err := GatewayAPI(root)
	if err != nil {
		return nil, err
	}
	is, err := Istio(root)
	if err != nil {
		return nil, err
	}
	return append(gw, is...), nil
}

// Install creates the CRDs (and waits until the API server serves them).
func Install(cfg *rest.Config, crds []*apiextensionsv1.CustomResourceDefinition) error {
	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{CRDs: crds}); err != nil {
		return fmt.Errorf("install router CRDs: %w", err)
	}
	return nil
}

// ModuleDir is where the Go toolchain keeps a module of the build rooted
// at root.
func ModuleDir(root, module string) (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w\n%s", module, err, stderr.String())
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("module %s is not downloaded (go mod download %s)", module, module)
	}
	return dir, nil
}

func read(path string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(doc, crd); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if crd.Kind == "CustomResourceDefinition" {
			out = append(out, crd)
		}
	}
	return out, nil
}
