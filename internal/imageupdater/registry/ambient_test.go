package registry

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
)

func TestParseAmbientNamespaces(t *testing.T) {
	tests := []struct {
		value   string
		want    string // String() of the policy
		allows  []string
		refuses []string
		wantErr string
	}{
		{value: "", want: "", refuses: []string{"default", "team-a"}},
		{value: "team-b, team-a,team-b", want: "team-a,team-b", allows: []string{"team-a", "team-b"}, refuses: []string{"team-c", ""}},
		{value: "*", want: "*", allows: []string{"team-a", "kube-system"}},
		{value: "team-a,Team_B", wantErr: `"Team_B" is not a namespace name`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			p, err := ParseAmbientNamespaces(tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), AmbientNamespacesFlag) {
					t.Fatalf("error %v, want one naming the flag and containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.String() != tt.want {
				t.Errorf("String() = %q, want %q", p.String(), tt.want)
			}
			for _, ns := range tt.allows {
				if !p.Allows(ns) {
					t.Errorf("does not allow %q", ns)
				}
			}
			for _, ns := range tt.refuses {
				if p.Allows(ns) {
					t.Errorf("allows %q", ns)
				}
			}
		})
	}
}

// TestAmbientPolicyAgainstRegistry resolves through a real registry that
// requires credentials. The image updater's "own identity" is a keychain
// holding that registry's credentials; ImageUpdaters in team-a may use it,
// those in team-b may not.
func TestAmbientPolicyAgainstRegistry(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.reg.PushRandom(t, "backend:latest")
	ambient := e.keychain
	policy, err := ParseAmbientNamespaces("team-a")
	if err != nil {
		t.Fatal(err)
	}
	// Another registry's pull secret: it covers nothing here.
	unrelated, err := ParsePullSecret(pullSecret([]byte(`{"auths":{"other.example.com":{"username":"u","password":"p"}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		keychain   authn.Keychain
		wantReason string // "" means resolved
		wantInMsg  []string
	}{
		{name: "allowed namespace", keychain: policy.Keychain(ambient, "team-a")},
		{
			name:       "other namespace",
			keychain:   authn.NewMultiKeychain(unrelated, policy.Keychain(ambient, "team-b")),
			wantReason: imagesv1.ReasonAmbientCredentialsNotAllowed,
			wantInMsg:  []string{"registry " + e.reg.Host, "namespace team-b", AmbientNamespacesFlag, "pullSecret"},
		},
		{
			name:     "other namespace with its own pull secret",
			keychain: authn.NewMultiKeychain(e.keychain, policy.Keychain(ambient, "team-b")),
		},
		{
			// Nothing to refuse: the identity has no credentials for this
			// registry, so the registry's own answer is reported.
			name:       "other namespace, ambient has nothing for the registry",
			keychain:   policy.Keychain(unrelated, "team-b"),
			wantReason: imagesv1.ReasonAuthFailed,
			wantInMsg:  []string{"401 Unauthorized"},
		},
		{
			name:       "no namespace allowed",
			keychain:   AmbientPolicy{}.Keychain(ambient, "team-a"),
			wantReason: imagesv1.ReasonAmbientCredentialsNotAllowed,
			wantInMsg:  []string{"namespace team-a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := e.query("backend")
			q.Keychain = tt.keychain
			res, err := e.client.Resolve(ctx, q)
			if tt.wantReason == "" {
				if err != nil || res.Digest == "" {
					t.Fatalf("Resolve = %+v, %v; want a digest", res, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Resolve succeeded, want %s", tt.wantReason)
			}
			if got := failure.Reason(err, ""); got != tt.wantReason {
				t.Fatalf("reason %q (%v), want %s", got, err, tt.wantReason)
			}
			var fe *failure.Error
			errorsAs(err, &fe)
			for _, want := range tt.wantInMsg {
				if !strings.Contains(fe.Message, want) {
					t.Errorf("message %q does not contain %q", fe.Message, want)
				}
			}
			if strings.Contains(err.Error(), e.reg.Password) {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}
