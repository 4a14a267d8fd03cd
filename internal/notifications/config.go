package notifications

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/argoproj/notifications-engine/pkg/api"
	"github.com/argoproj/notifications-engine/pkg/services"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The controller reads its notification configuration by name, in its own
// namespace only (the namespace is the install's; kustomize sets it).
// +kubebuilder:rbac:groups="",namespace=switchyard-system,resources=configmaps,verbs=get,resourceNames=argo-rollouts-notification-configmap
// +kubebuilder:rbac:groups="",namespace=switchyard-system,resources=secrets,verbs=get,resourceNames=argo-rollouts-notification-secret

// The reference's configuration objects.
const (
	ConfigMapName = "argo-rollouts-notification-configmap"
	SecretName    = "argo-rollouts-notification-secret"
)

// config is one namespace's notification configuration, parsed: the engine's
// API built from every valid key, and the keys left out because they are
// malformed (key → why).
type config struct {
	namespace string
	api       api.API
	invalid   map[string]error
	// err is set when the configuration as a whole could not be built
	// (an unreadable ConfigMap or Secret, malformed subscriptions).
	err error
}

// invalidTrigger returns why trigger is left out, if it is.
func (c *config) invalidTrigger(trigger string) error { return c.invalid["trigger."+trigger] }

// invalidTemplate returns why template is left out, if it is.
func (c *config) invalidTemplate(template string) error { return c.invalid["template."+template] }

// invalidKeys lists the keys left out, sorted.
func (c *config) invalidKeys() []string {
	keys := make([]string, 0, len(c.invalid))
	for k := range c.invalid {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseConfig builds a namespace's configuration from its ConfigMap and
// Secret. Each service, template and trigger is checked on its own, so a
// malformed one is left out (and named in invalid) while the rest work.
func parseConfig(cm *corev1.ConfigMap, secret *corev1.Secret, getVars api.GetVars) *config {
	out := &config{namespace: cm.Namespace, invalid: map[string]error{}}
	valid := cm.DeepCopy()
	for k, v := range cm.Data {
		if !strings.HasPrefix(k, "service.") && !strings.HasPrefix(k, "template.") && !strings.HasPrefix(k, "trigger.") {
			continue
		}
		single := &corev1.ConfigMap{Data: map[string]string{k: v}}
		single.Namespace = cm.Namespace
		cfg, err := api.ParseConfig(single, secret)
		if err == nil {
			_, err = api.NewAPI(*cfg, getVars)
		}
		if err != nil {
			out.invalid[k] = err
			delete(valid.Data, k)
		}
	}
	cfg, err := api.ParseConfig(valid, secret)
	if err != nil {
		out.err = fmt.Errorf("parse ConfigMap %s/%s: %w", cm.Namespace, ConfigMapName, err)
		return out
	}
	a, err := api.NewAPI(*cfg, getVars)
	if err != nil {
		out.err = fmt.Errorf("ConfigMap %s/%s: %w", cm.Namespace, ConfigMapName, err)
		return out
	}
	out.api = a
	return out
}

// configSource reads the ConfigMap and Secret of a namespace by name,
// uncached by the manager (no list or watch of ConfigMaps or Secrets), and
// keeps what it parsed for ttl.
type configSource struct {
	reader client.Reader
	clock  clock.PassiveClock
	ttl    time.Duration

	mu     sync.Mutex
	loaded map[string]loadedConfig
	// global is set while a configuration read has global (label-based)
	// subscriptions.
	global atomic.Bool
}

// hasGlobalSubscriptions reports whether the last configurations read
// subscribe Rollouts by label; it never reads.
func (s *configSource) hasGlobalSubscriptions() bool { return s.global.Load() }

type loadedConfig struct {
	at  time.Time
	cfg *config
}

// get returns namespace's configuration; nil when neither the ConfigMap
// nor the Secret exists.
func (s *configSource) get(ctx context.Context, namespace string) *config {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.loaded[namespace]; ok && s.clock.Since(l.at) < s.ttl {
		return l.cfg
	}
	cfg := s.read(ctx, namespace)
	s.loaded[namespace] = loadedConfig{at: s.clock.Now(), cfg: cfg}
	global := false
	for _, l := range s.loaded {
		if l.cfg != nil && l.cfg.api != nil && len(l.cfg.api.GetConfig().Subscriptions) > 0 {
			global = true
		}
	}
	s.global.Store(global)
	return cfg
}

func (s *configSource) read(ctx context.Context, namespace string) *config {
	cm := &corev1.ConfigMap{}
	cmErr := s.reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ConfigMapName}, cm)
	secret := &corev1.Secret{}
	secretErr := s.reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: SecretName}, secret)
	if apierrors.IsNotFound(cmErr) && apierrors.IsNotFound(secretErr) {
		return nil
	}
	for _, e := range []struct {
		err  error
		what string
	}{{cmErr, "ConfigMap " + namespace + "/" + ConfigMapName}, {secretErr, "Secret " + namespace + "/" + SecretName}} {
		if e.err != nil && !apierrors.IsNotFound(e.err) {
			return &config{namespace: namespace, err: fmt.Errorf("read %s: %w", e.what, e.err)}
		}
	}
	if apierrors.IsNotFound(cmErr) {
		cm = &corev1.ConfigMap{}
	}
	if apierrors.IsNotFound(secretErr) {
		secret = &corev1.Secret{}
	}
	cm.Namespace = namespace
	return parseConfig(cm, secret, varsFor(secret))
}

// varsFor returns the template variables of a notification: the Rollout as
// rollout, the Secret's values as secrets, and time helpers.
func varsFor(secret *corev1.Secret) api.GetVars {
	secrets := map[string]string{}
	for k, v := range secret.Data {
		secrets[k] = string(v)
	}
	return func(obj map[string]any, _ services.Destination) map[string]any {
		return map[string]any{
			"rollout": obj,
			"secrets": secrets,
			"time": map[string]any{
				"Now":   func() time.Time { return time.Now() },
				"Parse": func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t },
			},
		}
	}
}
