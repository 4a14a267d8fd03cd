package registriesconf

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registry"
	testregistry "github.com/switchyard-dev/switchyard/test/registry"
)

// script writes an executable shell script into a temporary directory and
// returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "login.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// countingScript prints AWS:token-<n>, n counting its runs.
func countingScript(t *testing.T) string {
	return script(t, `n=$(cat "$0.count" 2>/dev/null || echo 0); n=$((n+1)); echo "$n" > "$0.count"; echo "AWS:token-$n"`)
}

func mustParse(t *testing.T, conf string) *Config {
	t.Helper()
	c, err := Parse([]byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func resolve(t *testing.T, k *Keychain, image string) (authn.AuthConfig, error) {
	t.Helper()
	repo, err := name.NewRepository(image)
	if err != nil {
		t.Fatal(err)
	}
	a, err := k.ResolveContext(t.Context(), repo)
	if err != nil {
		return authn.AuthConfig{}, err
	}
	cfg, err := a.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return *cfg, nil
}

func TestExtCredentialsExpire(t *testing.T) {
	path := countingScript(t)
	conf := mustParse(t, fmt.Sprintf(`registries:
- name: ECR
  api_url: https://123456789012.dkr.ecr.eu-west-1.amazonaws.com
  prefix: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
  credentials: ext:%s
  credsexpire: 11h
`, path))
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
	k := NewKeychain(conf, nil, clk)
	const image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend"

	steps := []struct {
		advance  time.Duration
		image    string
		wantPass string
	}{
		{0, image, "token-1"},
		{time.Hour, image, "token-1"}, // cached
		{0, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/frontend", "token-1"},             // one entry, one cache
		{10*time.Hour - time.Second, image, "token-1"},                                      // 11h - 1s after the run
		{time.Second, image, "token-2"},                                                     // expired: run again
		{11 * time.Hour, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend", "token-3"}, // and again
	}
	for i, s := range steps {
		clk.Step(s.advance)
		cfg, err := resolve(t, k, s.image)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if cfg.Username != "AWS" || cfg.Password != s.wantPass {
			t.Fatalf("step %d: credentials %s:%s, want AWS:%s", i, cfg.Username, cfg.Password, s.wantPass)
		}
	}
	// Another registry has no entry: anonymous, the script is not run.
	if cfg, err := resolve(t, k, "ghcr.io/acme/backend"); err != nil || cfg != (authn.AuthConfig{}) {
		t.Fatalf("ghcr.io: %+v, %v; want anonymous", cfg, err)
	}
	count, err := os.ReadFile(path + ".count")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(count)) != "3" {
		t.Fatalf("the script ran %s times, want 3", count)
	}
}

func TestExtCredentialsNeverExpire(t *testing.T) {
	path := countingScript(t)
	conf := mustParse(t, fmt.Sprintf("registries:\n- name: r\n  api_url: https://r.example\n  credentials: ext:%s\n", path))
	clk := clocktesting.NewFakeClock(time.Now())
	k := NewKeychain(conf, nil, clk)
	for range 3 {
		cfg, err := resolve(t, k, "r.example/app")
		if err != nil || cfg.Password != "token-1" {
			t.Fatalf("%+v, %v; want token-1", cfg, err)
		}
		clk.Step(1000 * time.Hour)
	}
}

func TestExtCredentialsErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
		notWant    string
	}{
		{"exit status", `echo "no AWS identity: run in a pod with IRSA" >&2; exit 3`, []string{"exit status 3", "no AWS identity"}, ""},
		{"not user:password", `echo "supersecrettoken"`, []string{"first line of output is not user:password"}, "supersecrettoken"},
		{"nothing", `true`, []string{"printed nothing"}, ""},
		{"too slow", `exec sleep 30`, []string{"no answer within 200ms"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := script(t, tt.body)
			k := NewKeychain(mustParse(t, "registries:\n- name: r\n  api_url: https://r.example\n  credentials: ext:"+path+"\n"), nil, nil)
			k.ScriptTimeout = 200 * time.Millisecond
			_, err := resolve(t, k, "r.example/app")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tt.want, `registries.conf entry "r"`) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.notWant != "" && strings.Contains(err.Error(), tt.notWant) {
				t.Errorf("error %q quotes the script's output", err)
			}
		})
	}
	k := NewKeychain(mustParse(t, "registries:\n- name: r\n  api_url: https://r.example\n  credentials: ext:/nonexistent/login.sh\n"), nil, nil)
	if _, err := resolve(t, k, "r.example/app"); err == nil || !strings.Contains(err.Error(), "/nonexistent/login.sh") {
		t.Errorf("a missing script: %v", err)
	}
}

func TestEnvAndSecretCredentials(t *testing.T) {
	hub := testregistry.Registry{Host: "index.docker.io"}
	reader := fake.NewClientBuilder().WithObjects(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: "creds"}, Data: map[string][]byte{"creds": []byte("robot:pw-from-secret\n")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: "bad"}, Data: map[string][]byte{"creds": []byte("no-colon")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "argocd", Name: "dockerhub"}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: hub.DockerConfigJSON("hubuser", "hub-pw")}},
	).Build()
	conf := mustParse(t, `registries:
- name: env
  api_url: https://env.example
  prefix: env.example
  credentials: env:ENV_CREDS
- name: unset
  api_url: https://unset.example
  prefix: unset.example
  credentials: env:UNSET_CREDS
- name: secret
  api_url: https://secret.example
  prefix: secret.example
  credentials: secret:argocd/creds#creds
- name: no field
  api_url: https://nofield.example
  prefix: nofield.example
  credentials: secret:argocd/creds#password
- name: bad value
  api_url: https://bad.example
  prefix: bad.example
  credentials: secret:argocd/bad#creds
- name: missing secret
  api_url: https://missing.example
  prefix: missing.example
  credentials: secret:argocd/missing#creds
- name: hub
  api_url: https://registry-1.docker.io
  prefix: docker.io
  credentials: pullsecret:argocd/dockerhub
- name: anonymous
  api_url: https://anon.example
  prefix: anon.example
`)
	k := NewKeychain(conf, reader, nil)
	k.Getenv = func(v string) string {
		if v == "ENV_CREDS" {
			return "envuser:env-pw"
		}
		return ""
	}
	tests := []struct {
		image      string
		user, pass string
		wantErr    string
	}{
		{image: "env.example/app", user: "envuser", pass: "env-pw"},
		{image: "unset.example/app", wantErr: "environment variable UNSET_CREDS is not set"},
		{image: "secret.example/app", user: "robot", pass: "pw-from-secret"},
		{image: "nofield.example/app", wantErr: `secret argocd/creds has no field "password"`},
		{image: "bad.example/app", wantErr: "secret argocd/bad field creds: the value is not user:password"},
		{image: "missing.example/app", wantErr: "read Secret argocd/missing"},
		{image: "nginx", user: "hubuser", pass: "hub-pw"},
		{image: "anon.example/app"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			cfg, err := resolve(t, k, tt.image)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Username != tt.user || cfg.Password != tt.pass {
				t.Errorf("credentials %s:%s, want %s:%s", cfg.Username, cfg.Password, tt.user, tt.pass)
			}
		})
	}
}

// TestExtAgainstRegistry resolves an image in a real registry with the
// credentials an ext: script prints: right ones work, wrong ones give the
// registry's 401.
func TestExtAgainstRegistry(t *testing.T) {
	reg := testregistry.Start(t)
	digest := reg.PushRandom(t, "backend:latest")
	tr, err := (&registry.Transports{}).Get(reg.CAPEM, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, password string
		ok             bool
	}{{"right password", reg.Password, true}, {"wrong password", "wrong-pw", false}} {
		t.Run(tc.name, func(t *testing.T) {
			path := script(t, fmt.Sprintf("echo '%s:%s'", reg.Username, tc.password))
			conf := mustParse(t, fmt.Sprintf("registries:\n- name: test\n  api_url: https://%s\n  prefix: %s\n  credentials: ext:%s\n  credsexpire: 11h\n", reg.Host, reg.Host, path))
			kc := NewKeychain(conf, nil, nil)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			res, err := (&registry.Client{}).Resolve(ctx, registry.Query{
				Image: reg.Repo("backend"), Strategy: imagesv1.StrategyDigest, Tag: "latest", Keychain: kc, Transport: tr,
			})
			if tc.ok {
				if err != nil || res.Digest != digest.String() {
					t.Fatalf("Resolve = %+v, %v; want %s", res, err, digest)
				}
				return
			}
			if err == nil {
				t.Fatalf("Resolve with a wrong password succeeded: %+v", res)
			}
			if strings.Contains(err.Error(), "wrong-pw") {
				t.Errorf("the error quotes the password: %v", err)
			}
		})
	}
}

// TestExtCredentialsParallel: images of one registry polled in parallel
// run the entry's script once.
func TestExtCredentialsParallel(t *testing.T) {
	path := countingScript(t)
	k := NewKeychain(mustParse(t, "registries:\n- name: r\n  api_url: https://r.example\n  credentials: ext:"+path+"\n  credsexpire: 1h\n"), nil, nil)
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			repo, err := name.NewRepository(fmt.Sprintf("r.example/app%d", i))
			if err == nil {
				_, err = k.ResolveContext(t.Context(), repo)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	count, err := os.ReadFile(path + ".count")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(count)) != "1" {
		t.Fatalf("the script ran %s times, want 1", count)
	}
}
