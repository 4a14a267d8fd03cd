package registriesconf

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/internal/imageupdater/registry"
)

// Keychain gives the credentials registries.conf names for a registry. It
// is the controller's own credentials (like registry.AmbientKeychain), so
// the image updater consults it after an image's pull secret and only for
// the namespaces registry.AmbientPolicy allows. Registries without an
// entry or without credentials are anonymous. The zero value is not
// usable; use NewKeychain.
type Keychain struct {
	conf *Config
	// reader reads the Secrets of pullsecret: and secret:.
	reader client.Reader
	clock  clock.PassiveClock
	// Getenv reads env: variables. Default os.Getenv.
	Getenv func(string) string
	// ScriptTimeout bounds an ext: script. Default
	// registry.DefaultScriptTimeout.
	ScriptTimeout time.Duration

	mu    sync.Mutex
	cache map[*Registry]cached
	// fetching runs one fetch per entry at a time, so images polled in
	// parallel do not each run the entry's script.
	fetching singleflight.Group
}

type cached struct {
	// keychain answers for the entry's registry: a fixed credential, or a
	// pull secret matching by host.
	keychain authn.Keychain
	expires  time.Time // zero: never
}

var (
	_ authn.Keychain        = (*Keychain)(nil)
	_ authn.ContextKeychain = (*Keychain)(nil)
)

// NewKeychain returns the keychain of conf; reader reads Secrets
// (uncached: an API reader).
func NewKeychain(conf *Config, reader client.Reader, clk clock.PassiveClock) *Keychain {
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Keychain{conf: conf, reader: reader, clock: clk, Getenv: os.Getenv, cache: map[*Registry]cached{}}
}

// Resolve implements authn.Keychain.
func (k *Keychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

// ResolveContext implements authn.ContextKeychain. Credentials are fetched
// when first needed and again once credsexpire has passed.
func (k *Keychain) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	image := target.RegistryStr()
	if repo, ok := target.(name.Repository); ok {
		image = repo.Name()
	}
	r := k.conf.For(image)
	if r == nil || r.Credentials == nil {
		return authn.Anonymous, nil
	}
	now := k.clock.Now()
	k.mu.Lock()
	c, ok := k.cache[r]
	k.mu.Unlock()
	if !ok || (!c.expires.IsZero() && !now.Before(c.expires)) {
		v, err, _ := k.fetching.Do(fmt.Sprintf("%p", r), func() (any, error) {
			// Another call may have fetched since this one looked.
			k.mu.Lock()
			c, ok := k.cache[r]
			k.mu.Unlock()
			if ok && (c.expires.IsZero() || now.Before(c.expires)) {
				return c, nil
			}
			kc, err := k.fetch(ctx, r)
			if err != nil {
				return nil, err
			}
			c = cached{keychain: kc}
			if r.CredsExpire > 0 {
				c.expires = now.Add(r.CredsExpire)
			}
			k.mu.Lock()
			k.cache[r] = c
			k.mu.Unlock()
			return c, nil
		})
		if err != nil {
			return nil, fmt.Errorf("registries.conf entry %q: credentials %s: %w", r.Name, r.Credentials, err)
		}
		c = v.(cached)
	}
	return authn.Resolve(ctx, c.keychain, target)
}

// fetch reads an entry's credentials.
func (k *Keychain) fetch(ctx context.Context, r *Registry) (authn.Keychain, error) {
	kc, _, err := Sources{Reader: k.reader, Getenv: k.Getenv, ScriptTimeout: k.ScriptTimeout}.Fetch(ctx, *r.Credentials)
	return kc, err
}

// Sources are where credential references are read from.
type Sources struct {
	// Reader reads the Secrets of pullsecret: and secret: (uncached: an
	// API reader).
	Reader client.Reader
	// Getenv reads env: variables. Default os.Getenv.
	Getenv func(string) string
	// ScriptTimeout bounds an ext: script. Default
	// registry.DefaultScriptTimeout.
	ScriptTimeout time.Duration
}

// Fetch reads the credentials ref names. secrets are the values read, for
// redaction. It applies no namespace policy: that is the caller's.
func (s Sources) Fetch(ctx context.Context, ref CredentialRef) (kc authn.Keychain, secrets []string, err error) {
	switch ref.Kind {
	case Env:
		getenv := s.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		v := getenv(ref.Var)
		if v == "" {
			return nil, nil, fmt.Errorf("environment variable %s is not set", ref.Var)
		}
		cfg, err := userPassword(v)
		if err != nil {
			return nil, nil, fmt.Errorf("environment variable %s: %w", ref.Var, err)
		}
		return fixed(cfg), []string{cfg.Password}, nil
	case Ext:
		cfg, err := registry.RunCredentialScript(ctx, ref.Path, s.ScriptTimeout)
		if err != nil {
			return nil, nil, err
		}
		return fixed(cfg), []string{cfg.Password}, nil
	case SecretField, PullSecret:
		if s.Reader == nil {
			return nil, nil, fmt.Errorf("no Kubernetes client to read Secret %s/%s", ref.Namespace, ref.Name)
		}
		sec := &corev1.Secret{}
		if err := s.Reader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, sec); err != nil {
			return nil, nil, fmt.Errorf("read Secret %s/%s: %w", ref.Namespace, ref.Name, err)
		}
		if ref.Kind == PullSecret {
			ps, err := registry.ParsePullSecret(sec)
			if err != nil {
				return nil, nil, err
			}
			return ps, ps.Secrets(), nil
		}
		v, ok := sec.Data[ref.Field]
		if !ok {
			return nil, nil, fmt.Errorf("secret %s/%s has no field %q", ref.Namespace, ref.Name, ref.Field)
		}
		cfg, err := userPassword(strings.TrimSpace(string(v)))
		if err != nil {
			return nil, nil, fmt.Errorf("secret %s/%s field %s: %w", ref.Namespace, ref.Name, ref.Field, err)
		}
		return fixed(cfg), []string{cfg.Password}, nil
	}
	return nil, nil, fmt.Errorf("unknown credential form %q", ref.Kind)
}

func userPassword(v string) (authn.AuthConfig, error) {
	user, pass, ok := strings.Cut(v, ":")
	if !ok || user == "" || pass == "" {
		return authn.AuthConfig{}, fmt.Errorf("the value is not user:password")
	}
	return authn.AuthConfig{Username: user, Password: pass}, nil
}

// fixedKeychain answers every target with one credential.
type fixedKeychain struct{ auth authn.Authenticator }

func fixed(cfg authn.AuthConfig) authn.Keychain { return fixedKeychain{authn.FromConfig(cfg)} }

func (f fixedKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return f.auth, nil }
