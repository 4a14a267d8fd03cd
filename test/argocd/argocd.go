// Package argocd reads what tests need of Argo CD from Argo CD's own Go
// module, at the release test/argocd/module/go.mod pins: the Application
// CRD (manifests/crds/application-crd.yaml), and the built-in health checks
// (resource_customizations/<group>/<kind>/health.lua), which Health runs
// with gopher-lua, the Lua interpreter Argo CD runs them with. Tests use it
// to check that what Switchyard writes is what Argo CD accepts and reads.
//
// The module is not a dependency of Switchyard's go.mod: `go mod download`
// in test/argocd/module fetches its source (from the Go module proxy, once;
// then from the module cache).
package argocd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/test/tools"
)

// Path is Argo CD's module path.
const Path = "github.com/argoproj/argo-cd/v3"

// The health statuses Argo CD knows. A script returning another status is
// shown as Unknown.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Suspended   = "Suspended"
	Degraded    = "Degraded"
	Missing     = "Missing"
	Unknown     = "Unknown"
)

// invalidStatus is the message Argo CD shows next to Unknown when a script
// returns a status it does not know.
const invalidStatus = "Lua returned an invalid health status"

// scriptTimeout bounds one script's run (Argo CD bounds it too).
const scriptTimeout = 5 * time.Second

// Module is Argo CD's module source, as downloaded.
type Module struct {
	// Dir is the module's directory in the module cache.
	Dir string
	// Version is the release (test/argocd/module/go.mod).
	Version string
}

// Open downloads (or finds in the module cache) the Argo CD release that
// test/argocd/module/go.mod pins. root is the repository root.
func Open(root string) (*Module, error) {
	cmd := exec.Command("go", "mod", "download", "-json", Path)
	cmd.Dir = filepath.Join(root, "test", "argocd", "module")
	// That directory is a module of its own: no workspace, and whatever
	// -mod the caller's environment asks for does not apply to it.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var info struct{ Dir, Version, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Error != "" || info.Dir == "" {
		msg := info.Error
		if msg == "" {
			msg = fmt.Sprint(runErr, " ", stderr.String())
		}
		return nil, fmt.Errorf("download Argo CD's module %s (go mod download in %s; it needs the Go module proxy once): %s", Path, cmd.Dir, msg)
	}
	return &Module{Dir: info.Dir, Version: info.Version}, nil
}

// Require opens the module for test t. When it cannot be downloaded (no
// Go module proxy) t is skipped, or fails where tools are required (CI).
func Require(t testing.TB, root string) *Module {
	t.Helper()
	m, err := Open(root)
	if err != nil {
		tools.Missing(t, "%v", err)
	}
	return m
}

// ApplicationCRD reads Argo CD's Application CRD.
func (m *Module) ApplicationCRD() (*apiextensionsv1.CustomResourceDefinition, error) {
	path := filepath.Join(m.Dir, "manifests", "crds", "application-crd.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(data, crd); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if crd.Kind != "CustomResourceDefinition" || crd.Spec.Names.Kind != "Application" {
		return nil, fmt.Errorf("%s: not the Application CRD (%s %s)", path, crd.Kind, crd.Spec.Names.Kind)
	}
	return crd, nil
}

// HealthScript reads Argo CD's built-in health check for group/kind.
func (m *Module) HealthScript(group, kind string) (string, error) {
	data, err := os.ReadFile(filepath.Join(m.Dir, "resource_customizations", group, kind, "health.lua"))
	if err != nil {
		return "", fmt.Errorf("no built-in health check for %s/%s in Argo CD %s: %w", group, kind, m.Version, err)
	}
	return string(data), nil
}

// Health runs Argo CD's built-in health check for group/kind on obj and
// returns the health status and message Argo CD shows. A script that
// returns nothing, or an empty table, gives no status ("").
func (m *Module) Health(group, kind string, obj *unstructured.Unstructured) (status, message string, err error) {
	script, err := m.HealthScript(group, kind)
	if err != nil {
		return "", "", err
	}
	return RunHealth(script, obj)
}

// RunHealth runs a health script as Argo CD runs one: the object is the
// global obj, a Lua table converted from its JSON form, and the script
// returns a table with status and message.
func RunHealth(script string, obj *unstructured.Unstructured) (status, message string, err error) {
	// Argo CD gives its built-in scripts Lua's standard libraries.
	l := lua.NewState()
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj.Object))
	if err := l.DoString(script); err != nil {
		return "", "", fmt.Errorf("health script: %w", err)
	}
	switch ret := l.Get(-1).(type) {
	case *lua.LNilType:
		return "", "", nil
	case *lua.LTable:
		return fromLua(ret)
	default:
		return "", "", fmt.Errorf("health script returned a %s, not a table", ret.Type())
	}
}

// fromLua reads the table a health script returns the way Argo CD does
// (it goes through JSON): a table with no keys, or with a status or
// message that is not a string, reads as no health; a status Argo CD does
// not know reads as Unknown.
func fromLua(t *lua.LTable) (status, message string, err error) {
	if t.MaxN() > 0 {
		return "", "", nil
	}
	empty := true
	t.ForEach(func(lua.LValue, lua.LValue) { empty = false })
	if empty {
		return "", "", nil
	}
	for _, f := range []struct {
		key string
		to  *string
	}{{"status", &status}, {"message", &message}} {
		switch v := t.RawGetString(f.key).(type) {
		case lua.LString:
			*f.to = string(v)
		case *lua.LNilType:
		default:
			return "", "", nil
		}
	}
	switch status {
	case Healthy, Progressing, Suspended, Degraded, Missing, Unknown:
		return status, message, nil
	}
	return Unknown, invalidStatus, nil
}

// toLua converts a value of an object's JSON form to Lua: objects to
// tables with string keys, arrays to sequences, numbers (float64 as JSON
// decodes them, int64 as the API machinery does) to numbers.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for k, item := range v {
			t.RawSetString(k, toLua(l, item))
		}
		return t
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case string:
		return lua.LString(v)
	case json.Number:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case int32:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	}
	return lua.LNil
}

// ApplicationCRD reads Argo CD's Application CRD from its module; root is
// the repository root.
func ApplicationCRD(root string) (*apiextensionsv1.CustomResourceDefinition, error) {
	m, err := Open(root)
	if err != nil {
		return nil, err
	}
	return m.ApplicationCRD()
}

// Health runs Argo CD's built-in health check for group/kind on obj; root
// is the repository root. Tests that check many objects Open the module
// once and call its Health.
func Health(root, group, kind string, obj *unstructured.Unstructured) (status, message string, err error) {
	m, err := Open(root)
	if err != nil {
		return "", "", err
	}
	return m.Health(group, kind, obj)
}
