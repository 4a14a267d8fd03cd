package registriesconf

import (
	"fmt"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// CredentialKind is the form of a credential reference.
type CredentialKind string

// The forms of argocd-image-updater's credential references.
const (
	// PullSecret is pullsecret:<ns>/<name>: a docker config Secret.
	PullSecret CredentialKind = "pullsecret"
	// SecretField is secret:<ns>/<name>#<field>: user:password in a field.
	SecretField CredentialKind = "secret"
	// Env is env:<VAR>: user:password in the controller's environment.
	Env CredentialKind = "env"
	// Ext is ext:/abs/path: a script printing user:password.
	Ext CredentialKind = "ext"
)

// CredentialRef is a parsed credential reference.
type CredentialRef struct {
	Kind CredentialKind
	// Namespace and Name of the Secret (pullsecret, secret).
	Namespace, Name string
	// Field of the Secret (secret).
	Field string
	// Var is the environment variable (env).
	Var string
	// Path is the script (ext).
	Path string
}

// String is the reference as written.
func (c CredentialRef) String() string {
	switch c.Kind {
	case PullSecret:
		return fmt.Sprintf("pullsecret:%s/%s", c.Namespace, c.Name)
	case SecretField:
		return fmt.Sprintf("secret:%s/%s#%s", c.Namespace, c.Name, c.Field)
	case Env:
		return "env:" + c.Var
	case Ext:
		return "ext:" + c.Path
	}
	return ""
}

// ParseCredentialRef reads pullsecret:<ns>/<name>,
// secret:<ns>/<name>#<field>, env:<VAR> or ext:/abs/path.
func ParseCredentialRef(s string) (CredentialRef, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return CredentialRef{}, fmt.Errorf("%q is not <form>:<value> with form pullsecret, secret, env or ext", s)
	}
	ref := CredentialRef{Kind: CredentialKind(kind)}
	switch ref.Kind {
	case PullSecret:
		ns, name, err := namespacedName(rest)
		if err != nil {
			return CredentialRef{}, fmt.Errorf("pullsecret:%s: %w", rest, err)
		}
		ref.Namespace, ref.Name = ns, name
	case SecretField:
		nn, field, ok := strings.Cut(rest, "#")
		if !ok || field == "" {
			return CredentialRef{}, fmt.Errorf("secret:%s: want secret:<namespace>/<name>#<field>", rest)
		}
		ns, name, err := namespacedName(nn)
		if err != nil {
			return CredentialRef{}, fmt.Errorf("secret:%s: %w", rest, err)
		}
		if errs := validation.IsConfigMapKey(field); len(errs) > 0 {
			return CredentialRef{}, fmt.Errorf("secret:%s: field %q: %s", rest, field, strings.Join(errs, "; "))
		}
		ref.Namespace, ref.Name, ref.Field = ns, name, field
	case Env:
		if rest == "" || strings.ContainsAny(rest, "= \t") {
			return CredentialRef{}, fmt.Errorf("env:%s: want env:<VARIABLE>", rest)
		}
		ref.Var = rest
	case Ext:
		if !filepath.IsAbs(rest) {
			return CredentialRef{}, fmt.Errorf("ext:%s: the script's path must be absolute", rest)
		}
		ref.Path = filepath.Clean(rest)
	default:
		return CredentialRef{}, fmt.Errorf("unknown form %q in %q: want pullsecret, secret, env or ext", kind, s)
	}
	return ref, nil
}

func namespacedName(s string) (string, string, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("want <namespace>/<name>")
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return "", "", fmt.Errorf("namespace %q: %s", ns, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", "", fmt.Errorf("name %q: %s", name, strings.Join(errs, "; "))
	}
	return ns, name, nil
}
