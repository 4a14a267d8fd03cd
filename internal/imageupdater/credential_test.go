package imageupdater

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registriesconf"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registry"
)

// TestImageCredential: argocd-image-updater's secret:, env: and ext:
// pullSecret forms give the image's credentials; env: and ext: only in the
// namespaces the ambient policy allows.
func TestImageCredential(t *testing.T) {
	script := filepath.Join(t.TempDir(), "login.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho robot:from-script\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	reader := fake.NewClientBuilder().WithObjects(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "creds"},
		Data:       map[string][]byte{"login": []byte("robot:from-secret\n"), "bad": []byte("no-colon")},
	}).Build()
	env := map[string]string{"REGISTRY_CREDS": "robot:from-env", "BAD_CREDS": "robot"}
	policy, err := registry.ParseAmbientNamespaces("team")
	if err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{APIReader: reader, AmbientCredentials: policy, Getenv: func(k string) string { return env[k] }}

	tests := []struct {
		name, namespace, ref string
		wantPassword         string
		wantReason, wantErr  string
	}{
		{name: "secret field", namespace: "team", ref: "secret:team/creds#login", wantPassword: "from-secret"},
		{name: "env, allowed namespace", namespace: "team", ref: "env:REGISTRY_CREDS", wantPassword: "from-env"},
		{name: "ext, allowed namespace", namespace: "team", ref: "ext:" + script, wantPassword: "from-script"},
		{name: "env, other namespace", namespace: "other", ref: "env:REGISTRY_CREDS", wantReason: imagesv1.ReasonAmbientCredentialsNotAllowed, wantErr: registry.AmbientNamespacesFlag},
		{name: "ext, other namespace", namespace: "other", ref: "ext:" + script, wantReason: imagesv1.ReasonAmbientCredentialsNotAllowed, wantErr: "namespace other may not use"},
		{name: "secret field missing", namespace: "team", ref: "secret:team/creds#nope", wantReason: imagesv1.ReasonCredentialsNotFound, wantErr: `no field "nope"`},
		{name: "secret field not user:password", namespace: "team", ref: "secret:team/creds#bad", wantReason: imagesv1.ReasonCredentialsNotFound, wantErr: "not user:password"},
		{name: "secret missing", namespace: "team", ref: "secret:team/gone#login", wantReason: imagesv1.ReasonCredentialsNotFound, wantErr: "not found"},
		{name: "env unset", namespace: "team", ref: "env:UNSET", wantReason: imagesv1.ReasonCredentialsNotFound, wantErr: "UNSET is not set"},
		{name: "env not user:password", namespace: "team", ref: "env:BAD_CREDS", wantReason: imagesv1.ReasonCredentialsNotFound, wantErr: "env:BAD_CREDS"},
	}
	repo, err := name.NewRepository("registry.example.com/team/backend")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := registriesconf.ParseCredentialRef(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			kc, secrets, err := r.imageCredential(t.Context(), tt.namespace, ref)
			if tt.wantErr != "" {
				var fe *failure.Error
				if !errors.As(err, &fe) || fe.Reason != tt.wantReason || !strings.Contains(fe.Message, tt.wantErr) {
					t.Fatalf("err = %v, want reason %s and %q", err, tt.wantReason, tt.wantErr)
				}
				if strings.Contains(fe.Message, "from-") {
					t.Errorf("message %q shows a credential", fe.Message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			a, err := authn.Resolve(t.Context(), kc, repo)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := a.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Username != "robot" || cfg.Password != tt.wantPassword {
				t.Errorf("credentials = %s:%s, want robot:%s", cfg.Username, cfg.Password, tt.wantPassword)
			}
			if !slices.Contains(secrets, tt.wantPassword) {
				t.Errorf("secrets to redact = %v, want %s among them", secrets, tt.wantPassword)
			}
		})
	}
}
