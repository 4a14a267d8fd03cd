package registry

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

func errorsAs[T any](err error, target *T) bool { return errors.As(err, target) }

func TestPullSecretResolve(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("hub-user:hub-pass"))
	secret := pullSecret([]byte(`{"auths":{
		"https://index.docker.io/v1/": {"auth": "` + basic + `"},
		"registry.example.com": {"username": "host", "password": "host-pw"},
		"registry.example.com/team": {"username": "team", "password": "team-pw"},
		"*.wild.example.com": {"username": "wild", "password": "wild-pw"},
		"https://ghcr.io": {"identitytoken": "gh-token"}
	}}`))
	ps, err := ParsePullSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		repo     string
		wantUser string // "" means anonymous
		wantTok  string
	}{
		{repo: "nginx", wantUser: "hub-user"},
		{repo: "docker.io/library/nginx", wantUser: "hub-user"},
		{repo: "registry.example.com/backend", wantUser: "host"},
		{repo: "registry.example.com/team/backend", wantUser: "team"},
		{repo: "registry.example.com/teamless/backend", wantUser: "host"},
		{repo: "a.wild.example.com/backend", wantUser: "wild"},
		{repo: "a.b.wild.example.com/backend"},
		{repo: "ghcr.io/org/app", wantTok: "gh-token"},
		{repo: "quay.io/org/app"},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			repo, err := name.NewRepository(tt.repo)
			if err != nil {
				t.Fatal(err)
			}
			a, err := ps.Resolve(repo)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := a.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Username != tt.wantUser || cfg.IdentityToken != tt.wantTok {
				t.Errorf("Resolve = user %q token %q, want user %q token %q", cfg.Username, cfg.IdentityToken, tt.wantUser, tt.wantTok)
			}
			if tt.wantUser == "" && tt.wantTok == "" && a != authn.Anonymous {
				t.Errorf("Resolve = %v, want anonymous", a)
			}
		})
	}
	for _, s := range []string{"hub-pass", "host-pw", "team-pw", "wild-pw", "gh-token", "hub-user:hub-pass"} {
		found := false
		for _, got := range ps.Secrets() {
			found = found || got == s
		}
		if !found {
			t.Errorf("Secrets() lacks %q, so it would not be redacted", s)
		}
	}
}

func TestParsePullSecretErrors(t *testing.T) {
	tests := []struct {
		name string
		data map[string][]byte
	}{
		{name: "no keys", data: map[string][]byte{}},
		{name: "not json", data: map[string][]byte{corev1.DockerConfigJsonKey: []byte("{")}},
		{name: "auth not base64", data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"r.io":{"auth":"%%%"}}}`)}},
		{name: "auth without colon", data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"r.io":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("nocolon")) + `"}}}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePullSecret(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: tt.data})
			if err == nil {
				t.Fatal("ParsePullSecret succeeded, want an error")
			}
		})
	}
	// The legacy .dockercfg form is read too.
	legacy := &corev1.Secret{Data: map[string][]byte{corev1.DockerConfigKey: []byte(`{"r.io":{"username":"u","password":"p"}}`)}}
	ps, err := ParsePullSecret(legacy)
	if err != nil {
		t.Fatal(err)
	}
	repo, _ := name.NewRepository("r.io/x")
	a, _ := ps.Resolve(repo)
	if cfg, _ := a.Authorization(); cfg.Username != "u" {
		t.Errorf("legacy dockercfg not used: %+v", cfg)
	}
}

// countingKeychain counts Resolve calls.
type countingKeychain struct{ calls int }

func (k *countingKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	k.calls++
	return &authn.Basic{Username: "AWS", Password: "token"}, nil
}

func TestCachingKeychain(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(metav1.Now().Time)
	inner := &countingKeychain{}
	k := &cachingKeychain{inner: inner, clock: clk, ttl: tokenTTL, entries: map[string]cachedAuth{}}
	repo, _ := name.NewRepository("123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend")
	for range 3 {
		if _, err := k.Resolve(repo); err != nil {
			t.Fatal(err)
		}
	}
	if inner.calls != 1 {
		t.Fatalf("inner keychain called %d times within the TTL, want 1", inner.calls)
	}
	clk.SetTime(clk.Now().Add(tokenTTL + 1))
	if _, err := k.Resolve(repo); err != nil {
		t.Fatal(err)
	}
	if inner.calls != 2 {
		t.Fatalf("inner keychain called %d times after the TTL, want 2", inner.calls)
	}
}

// TestAmbientKeychainOutsideECR: for a registry that is not ECR the
// ambient keychain is anonymous, without calling AWS.
func TestAmbientKeychainOutsideECR(t *testing.T) {
	k := AmbientKeychain(clocktesting.NewFakePassiveClock(metav1.Now().Time))
	repo, _ := name.NewRepository("registry.example.com/backend")
	a, err := k.Resolve(repo)
	if err != nil {
		t.Fatal(err)
	}
	if a != authn.Anonymous {
		t.Errorf("Resolve = %v, want anonymous", a)
	}
}
