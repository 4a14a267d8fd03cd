package registry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	ecr "github.com/awslabs/amazon-ecr-credential-helper/ecr-login"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
)

// dockerConfigEntry is one registry's credentials in a docker config.
type dockerConfigEntry struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// PullSecret is a parsed kubernetes.io/dockerconfigjson (or legacy
// kubernetes.io/dockercfg) Secret. It is an authn.Keychain that matches
// registries as the kubelet does: by host, by "*." wildcard host, and by
// host/path prefix (the longest match wins).
type PullSecret struct {
	entries []pullSecretEntry
}

type pullSecretEntry struct {
	host, path string // host may start with "*."
	auth       authn.AuthConfig
}

var _ authn.Keychain = (*PullSecret)(nil)

// ParsePullSecret reads a pull Secret.
func ParsePullSecret(s *corev1.Secret) (*PullSecret, error) {
	var auths map[string]dockerConfigEntry
	switch {
	case len(s.Data[corev1.DockerConfigJsonKey]) > 0:
		var cfg struct {
			Auths map[string]dockerConfigEntry `json:"auths"`
		}
		if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg); err != nil {
			// The error of encoding/json quotes no input, so it cannot leak a
			// credential.
			return nil, fmt.Errorf("secret %s: key %s is not a docker config: %w", s.Name, corev1.DockerConfigJsonKey, err)
		}
		auths = cfg.Auths
	case len(s.Data[corev1.DockerConfigKey]) > 0:
		if err := json.Unmarshal(s.Data[corev1.DockerConfigKey], &auths); err != nil {
			return nil, fmt.Errorf("secret %s: key %s is not a docker config: %w", s.Name, corev1.DockerConfigKey, err)
		}
	default:
		return nil, fmt.Errorf("secret %s has neither %s nor %s", s.Name, corev1.DockerConfigJsonKey, corev1.DockerConfigKey)
	}

	ps := &PullSecret{}
	for key, e := range auths {
		cfg := authn.AuthConfig{
			Username:      e.Username,
			Password:      e.Password,
			IdentityToken: e.IdentityToken,
			RegistryToken: e.RegistryToken,
		}
		if e.Auth != "" && cfg.Username == "" && cfg.Password == "" {
			raw, err := base64.StdEncoding.DecodeString(e.Auth)
			if err != nil {
				return nil, fmt.Errorf("secret %s: auth of registry %q is not base64", s.Name, key)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("secret %s: auth of registry %q is not user:password", s.Name, key)
			}
			cfg.Username, cfg.Password = user, pass
		}
		host, path := splitConfigKey(key)
		if host == "" {
			continue
		}
		ps.entries = append(ps.entries, pullSecretEntry{host: host, path: path, auth: cfg})
	}
	return ps, nil
}

// Secrets returns every credential value, for redaction.
func (p *PullSecret) Secrets() []string {
	var out []string
	for _, e := range p.entries {
		out = append(out, e.auth.Password, e.auth.IdentityToken, e.auth.RegistryToken, e.auth.Auth)
		if e.auth.Password != "" {
			out = append(out, e.auth.Username+":"+e.auth.Password)
		}
	}
	return out
}

// Resolve implements authn.Keychain.
func (p *PullSecret) Resolve(target authn.Resource) (authn.Authenticator, error) {
	host := normalizeHost(target.RegistryStr())
	repo := ""
	if r, ok := target.(name.Repository); ok {
		repo = r.RepositoryStr()
	}
	best, bestLen := -1, -1
	for i, e := range p.entries {
		if !hostMatches(e.host, host) {
			continue
		}
		if e.path != "" && repo != e.path && !strings.HasPrefix(repo, e.path+"/") {
			continue
		}
		// An exact host beats a wildcard; a longer path beats a shorter one.
		score := len(e.path) * 2
		if !strings.HasPrefix(e.host, "*.") {
			score++
		}
		if score > bestLen {
			best, bestLen = i, score
		}
	}
	if best < 0 {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(p.entries[best].auth), nil
}

// splitConfigKey turns a docker config key ("https://index.docker.io/v1/",
// "registry.example.com:5000", "ghcr.io/org") into host and path.
func splitConfigKey(key string) (host, path string) {
	k := key
	if !strings.Contains(k, "://") {
		k = "https://" + k
	}
	u, err := url.Parse(k)
	if err != nil {
		return "", ""
	}
	host = normalizeHost(u.Host)
	path = strings.Trim(u.Path, "/")
	// Docker Hub's legacy key carries an API version, not a repository.
	if host == name.DefaultRegistry || path == "v1" || path == "v2" {
		path = ""
	}
	return host, path
}

func normalizeHost(h string) string {
	h = strings.ToLower(h)
	if h == "docker.io" || h == "registry-1.docker.io" {
		return name.DefaultRegistry // index.docker.io, as ggcr names Docker Hub
	}
	return h
}

func hostMatches(pattern, host string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		// One label, as the kubelet matches: *.example.com matches
		// a.example.com, not a.b.example.com.
		label, rest, found := strings.Cut(host, ".")
		return found && label != "" && rest == suffix
	}
	return pattern == host
}

// AmbientKeychain returns the credentials the controller itself has, for
// registries no pull secret covers. It exchanges the controller's AWS
// identity (IRSA, instance role, environment) for an ECR token when the
// registry is ECR (*.dkr.ecr.*.amazonaws.com, ECR Public), and is anonymous
// everywhere else. Tokens are kept for tokenTTL; ECR issues them for 12h.
//
// The docker config file of the controller's own user is deliberately not
// consulted: a user creating an ImageUpdater must not borrow it.
func AmbientKeychain(clk clock.PassiveClock) authn.Keychain {
	helper := ecr.NewECRHelper(ecr.WithLogger(io.Discard))
	return &cachingKeychain{inner: authn.NewKeychainFromHelper(helper), clock: clk, ttl: tokenTTL, entries: map[string]cachedAuth{}}
}

const (
	tokenTTL     = time.Hour
	anonymousTTL = time.Minute
)

// cachingKeychain keeps credentials per registry for a while, so polling
// every image every interval does not call the ECR API each time.
type cachingKeychain struct {
	inner authn.Keychain
	clock clock.PassiveClock
	ttl   time.Duration

	mu      sync.Mutex
	entries map[string]cachedAuth
}

type cachedAuth struct {
	auth    authn.Authenticator
	expires time.Time
}

func (k *cachingKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	key := target.RegistryStr()
	now := k.clock.Now()
	k.mu.Lock()
	if e, ok := k.entries[key]; ok && now.Before(e.expires) {
		k.mu.Unlock()
		return e.auth, nil
	}
	k.mu.Unlock()

	a, err := k.inner.Resolve(target)
	if err != nil {
		return nil, err
	}
	// Resolve the credentials now, so what is cached is a fixed token and
	// not a helper call waiting to happen.
	cfg, err := a.Authorization()
	if err != nil {
		return nil, err
	}
	fixed, ttl := authn.FromConfig(*cfg), k.ttl
	if a == authn.Anonymous {
		// Not an ECR registry, or no AWS identity right now: ask again
		// soon, in case the identity was only late (IRSA token mount).
		fixed, ttl = authn.Anonymous, anonymousTTL
	}
	k.mu.Lock()
	k.entries[key] = cachedAuth{auth: fixed, expires: now.Add(ttl)}
	k.mu.Unlock()
	return fixed, nil
}
