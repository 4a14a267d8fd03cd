package registry

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/strategy"
	testregistry "github.com/switchyard-dev/switchyard/test/registry"
)

// env is a registry and the query defaults that reach it.
type env struct {
	reg       *testregistry.Registry
	transport http.RoundTripper
	keychain  authn.Keychain
	client    *Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	reg := testregistry.Start(t)
	var transports Transports
	tr, err := transports.Get(reg.CAPEM, false)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := ParsePullSecret(pullSecret(reg.DockerConfigJSON(reg.Username, reg.Password)))
	if err != nil {
		t.Fatal(err)
	}
	return &env{reg: reg, transport: tr, keychain: ps, client: &Client{UserAgent: "switchyard-test"}}
}

func (e *env) query(repo string) Query {
	return Query{Image: e.reg.Repo(repo), Strategy: imagesv1.StrategyDigest, Keychain: e.keychain, Transport: e.transport}
}

func pullSecret(dockerConfigJSON []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "pull"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: dockerConfigJSON},
	}
}

func TestResolveDigest(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()

	first := e.reg.PushRandom(t, "backend:latest")
	got, err := e.client.Resolve(ctx, e.query("backend"))
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if got.Tag != "latest" || got.Digest != first.String() {
		t.Fatalf("Resolve = %+v, want latest@%s", got, first)
	}

	// CI pushes a new build under the same tag: the digest follows.
	second := e.reg.PushRandom(t, "backend:latest")
	got, err = e.client.Resolve(ctx, e.query("backend"))
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if got.Digest != second.String() || second == first {
		t.Fatalf("after a new push Resolve = %s, want %s", got.Digest, second)
	}

	q := e.query("backend")
	q.Tag = "stable"
	stable := e.reg.PushRandom(t, "backend:stable")
	if got, err := e.client.Resolve(ctx, q); err != nil || got.Digest != stable.String() || got.Tag != "stable" {
		t.Fatalf("Resolve(stable) = %+v, %v; want stable@%s", got, err, stable)
	}
}

func TestResolveMultiArch(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	index := e.reg.PushIndex(t, "backend:latest", "linux/amd64", "linux/arm64/v8")

	tests := []struct {
		name       string
		platforms  []string
		wantReason string
	}{
		{name: "no platform filter"},
		{name: "arm64 present", platforms: []string{"linux/arm64"}},
		{name: "both present", platforms: []string{"linux/amd64", "linux/arm64/v8"}},
		{name: "s390x missing", platforms: []string{"linux/amd64", "linux/s390x"}, wantReason: imagesv1.ReasonPlatformNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := e.query("backend")
			for _, p := range tt.platforms {
				plat, err := v1.ParsePlatform(p)
				if err != nil {
					t.Fatal(err)
				}
				q.Platforms = append(q.Platforms, *plat)
			}
			got, err := e.client.Resolve(ctx, q)
			if tt.wantReason != "" {
				if r := failure.Reason(err, ""); r != tt.wantReason {
					t.Fatalf("Resolve error %v (reason %q), want reason %s", err, r, tt.wantReason)
				}
				if !strings.Contains(err.Error(), "linux/s390x") {
					t.Errorf("message %q does not name the missing platform", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			// The index digest, as `crane digest` and registries report it,
			// not the digest of one platform's manifest.
			if got.Digest != index.String() {
				t.Errorf("Resolve digest %s, want the index digest %s", got.Digest, index)
			}
		})
	}
}

func TestResolveFailures(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.reg.PushRandom(t, "backend:latest")

	wrong, err := ParsePullSecret(pullSecret(e.reg.DockerConfigJSON(e.reg.Username, "wrong-s3cret-value")))
	if err != nil {
		t.Fatal(err)
	}
	closed, err := testregistry.ClosedPort()
	if err != nil {
		t.Fatal(err)
	}
	var transports Transports
	systemRoots, err := transports.Get(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	insecure, err := transports.Get(nil, true)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		mutate      func(q *Query)
		wantReason  string
		wantMessage string
	}{
		{
			name:        "wrong password",
			mutate:      func(q *Query) { q.Keychain = wrong },
			wantReason:  imagesv1.ReasonAuthFailed,
			wantMessage: "registry " + e.reg.Host + " refused the credentials for " + e.reg.Host + "/backend:latest (401 Unauthorized)",
		},
		{
			name:        "anonymous",
			mutate:      func(q *Query) { q.Keychain = nil },
			wantReason:  imagesv1.ReasonAuthFailed,
			wantMessage: "refused the credentials",
		},
		{
			name:        "missing tag",
			mutate:      func(q *Query) { q.Tag = "no-such-tag" },
			wantReason:  imagesv1.ReasonTagNotFound,
			wantMessage: e.reg.Host + "/backend:no-such-tag not found in registry " + e.reg.Host,
		},
		{
			name:        "missing repository",
			mutate:      func(q *Query) { q.Image = e.reg.Repo("nothing-here") },
			wantReason:  imagesv1.ReasonTagNotFound,
			wantMessage: "not found",
		},
		{
			name:        "unreachable",
			mutate:      func(q *Query) { q.Image = closed + "/backend" },
			wantReason:  imagesv1.ReasonRegistryUnreachable,
			wantMessage: "cannot reach registry " + closed + ": connection refused",
		},
		{
			name:        "CA not trusted",
			mutate:      func(q *Query) { q.Transport = systemRoots },
			wantReason:  imagesv1.ReasonRegistryUnreachable,
			wantMessage: "TLS certificate of registry " + e.reg.Host + " is not trusted (signed by an unknown authority)",
		},
		{
			name:        "semver with no match",
			mutate:      func(q *Query) { q.Strategy = imagesv1.StrategySemver },
			wantReason:  imagesv1.ReasonNoMatchingTag,
			wantMessage: "none of the 1 tags",
		},
		{
			name:   "insecure skips verification",
			mutate: func(q *Query) { q.Transport = insecure; q.Insecure = true },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := e.query("backend")
			tt.mutate(&q)
			_, err := e.client.Resolve(ctx, q)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("Resolve: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Resolve succeeded, want %s", tt.wantReason)
			}
			var fe *failure.Error
			if !errorsAs(err, &fe) || fe.Reason != tt.wantReason {
				t.Fatalf("Resolve error %v, want reason %s", err, tt.wantReason)
			}
			if !strings.Contains(fe.Message, tt.wantMessage) {
				t.Errorf("message %q does not contain %q", fe.Message, tt.wantMessage)
			}
			if strings.Contains(err.Error(), "wrong-s3cret-value") || strings.Contains(err.Error(), e.reg.Password) {
				t.Errorf("error leaks a password: %v", err)
			}
		})
	}
}

func TestResolveStrategies(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	digests := map[string]v1.Hash{}
	// Build dates deliberately disagree with both tag orders.
	for i, tag := range []string{"v1.0.0", "v1.2.0", "v1.10.1", "v2.0.0", "v2.1.0-rc.1", "build-b", "build-a", "latest"} {
		created := base.Add(time.Duration(i) * time.Hour)
		if tag == "build-a" {
			created = base.Add(100 * time.Hour)
		}
		digests[tag] = e.reg.PushImage(t, "app:"+tag, testregistry.RandomImage(t, "linux/amd64", created))
	}

	tests := []struct {
		name       string
		strategy   imagesv1.UpdateStrategy
		constraint string
		allow      string
		ignore     []string
		want       string
	}{
		{name: "semver any", strategy: imagesv1.StrategySemver, want: "v2.0.0"},
		{name: "semver caret", strategy: imagesv1.StrategySemver, constraint: "^1", want: "v1.10.1"},
		{name: "semver with prerelease", strategy: imagesv1.StrategySemver, constraint: ">=2.1.0-0", want: "v2.1.0-rc.1"},
		{name: "semver ignoring v2", strategy: imagesv1.StrategySemver, ignore: []string{"v2.*"}, want: "v1.10.1"},
		{name: "alphabetical", strategy: imagesv1.StrategyAlphabetical, allow: "regexp:^build-", want: "build-b"},
		{name: "newest build", strategy: imagesv1.StrategyNewestBuild, want: "build-a"},
		{name: "newest build filtered", strategy: imagesv1.StrategyNewestBuild, allow: `regexp:^v\d`, want: "v2.1.0-rc.1"},
		{name: "newest build ignoring", strategy: imagesv1.StrategyNewestBuild, ignore: []string{"build-*", "latest", "regexp:-rc"}, want: "v2.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := strategy.NewFilter(tt.allow, tt.ignore)
			if err != nil {
				t.Fatal(err)
			}
			c, err := strategy.ParseConstraint(tt.constraint)
			if err != nil {
				t.Fatal(err)
			}
			q := e.query("app")
			q.Strategy, q.Filter, q.Constraint = tt.strategy, f, c
			got, err := e.client.Resolve(ctx, q)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got.Tag != tt.want || got.Digest != digests[tt.want].String() {
				t.Errorf("Resolve = %s@%s, want %s@%s", got.Tag, got.Digest, tt.want, digests[tt.want])
			}
		})
	}
}
