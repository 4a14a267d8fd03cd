package registry

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/apimachinery/pkg/util/validation"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
)

// AmbientNamespacesFlag is the image-updater flag that sets an AmbientPolicy;
// messages name it so users know whom to ask.
const AmbientNamespacesFlag = "--ambient-credentials-namespaces"

// AmbientPolicy says which namespaces' ImageUpdaters may use the image
// updater's own registry credentials (AmbientKeychain: its cloud identity).
// Without it, whoever may create an ImageUpdater in any namespace could read
// every registry the image updater's identity can. The zero value allows no
// namespace.
type AmbientPolicy struct {
	all        bool
	namespaces []string
}

// ParseAmbientNamespaces reads the flag's value: namespace names separated
// by commas, or "*" for every namespace. Empty allows none.
func ParseAmbientNamespaces(value string) (AmbientPolicy, error) {
	var p AmbientPolicy
	for _, ns := range strings.Split(value, ",") {
		ns = strings.TrimSpace(ns)
		switch {
		case ns == "":
		case ns == "*":
			p.all = true
		default:
			if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
				return AmbientPolicy{}, fmt.Errorf("%s: %q is not a namespace name: %s", AmbientNamespacesFlag, ns, strings.Join(errs, "; "))
			}
			if !slices.Contains(p.namespaces, ns) {
				p.namespaces = append(p.namespaces, ns)
			}
		}
	}
	slices.Sort(p.namespaces)
	return p, nil
}

// Allows reports whether ImageUpdaters in namespace may use the ambient
// credentials.
func (p AmbientPolicy) Allows(namespace string) bool {
	return p.all || slices.Contains(p.namespaces, namespace)
}

// String is the policy as the flag would set it.
func (p AmbientPolicy) String() string {
	if p.all {
		return "*"
	}
	return strings.Join(p.namespaces, ",")
}

// Keychain returns the ambient keychain as an ImageUpdater in namespace may
// use it: ambient itself when the policy allows the namespace. Otherwise it
// is anonymous for registries ambient has no credentials for, and for the
// others it fails with ReasonAmbientCredentialsNotAllowed, so the
// ImageUpdater's condition says why instead of a bare 401. Put it after the
// ImageUpdater's pull secret in a multi-keychain: a pull secret that covers
// the registry is used first and never meets the refusal.
func (p AmbientPolicy) Keychain(ambient authn.Keychain, namespace string) authn.Keychain {
	if p.Allows(namespace) {
		return ambient
	}
	return &refusedAmbient{ambient: ambient, namespace: namespace}
}

// refusedAmbient stands for the ambient keychain in a namespace the policy
// does not allow.
type refusedAmbient struct {
	ambient   authn.Keychain
	namespace string
}

func (k *refusedAmbient) Resolve(target authn.Resource) (authn.Authenticator, error) {
	a, err := k.ambient.Resolve(target)
	if err == nil && a == authn.Anonymous {
		return authn.Anonymous, nil
	}
	// The credentials (or the error getting them) never leave this
	// function: only the refusal does.
	return nil, failure.New(imagesv1.ReasonAmbientCredentialsNotAllowed, nil,
		"registry %s needs the image updater's own credentials, which ImageUpdaters in namespace %s may not use; set pullSecret, or ask the operator to allow the namespace with %s",
		target.RegistryStr(), k.namespace, AmbientNamespacesFlag)
}
