package imageupdater

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registriesconf"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registry"
)

// pollResult is what polling one image produced, before it is recorded.
type pollResult struct {
	res     registry.Result
	err     error
	secrets []string // credential values loaded, for redaction
}

// reconcilePoll asks the registry about every due image, a few at a time;
// each image's failure is its own.
func (r *Reconciler) reconcilePoll(ctx context.Context, s *scope) (ctrl.Result, error) {
	pushed := r.Webhook.Take(client.ObjectKeyFromObject(s.iu))
	r.pollUnit(ctx, s.unit, func(i int) bool {
		return due(&s.unit.statuses[i], s.unit.now.Time, s.unit.plan.interval, r.MaxBackoff, s.specChanged) ||
			pushed[s.unit.plan.images[i].spec.Name]
	})
	return ctrl.Result{}, nil
}

// pollUnit polls the images of u for which due says so and records the
// results in u's statuses; u.resolved[i] is set for each image polled
// successfully.
func (r *Reconciler) pollUnit(ctx context.Context, u *unit, due func(i int) bool) {
	log := ctrl.LoggerFrom(ctx)
	statuses := u.statuses
	results := make([]*pollResult, len(u.plan.images))
	if u.resolved == nil {
		u.resolved = make([]*registry.Result, len(u.plan.images))
	}
	sem := make(chan struct{}, pollJobs)
	var wg sync.WaitGroup
	for i := range u.plan.images {
		if !due(i) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = r.pollImage(ctx, u.namespace, u.plan.images[i])
		}()
	}
	wg.Wait()

	// Every secret loaded goes to the redactor before any message is
	// recorded, so one image's credentials are masked in another's message.
	for _, pr := range results {
		if pr != nil {
			u.redactor.Add(pr.secrets...)
		}
	}
	for i, pr := range results {
		if pr == nil {
			continue
		}
		ip := u.plan.images[i]
		st := &statuses[i]
		labels := []string{u.namespace, u.name, ip.spec.Name}
		o := u.outcome(pr.err, imagesv1.ReasonRegistryError)
		prevReason := st.Reason
		changed := recordPoll(st, u.now, pr.res, o)
		if o.failed() {
			pollsTotal.WithLabelValues(append(labels, "error")...).Inc()
			errorsTotal.WithLabelValues(append(labels, o.reason)...).Inc()
			u.errors++
			log.Info("Image poll failed", "image", ip.spec.Name, "reason", o.reason, "message", o.message, "consecutiveFailures", st.ConsecutiveFailures)
			if o.reason != prevReason {
				r.event(u.owner, corev1.EventTypeWarning, o.reason, actionPoll, fmt.Sprintf("%simage %s: %s", u.prefix(), ip.spec.Name, o.message))
			}
			continue
		}
		pollsTotal.WithLabelValues(append(labels, "success")...).Inc()
		res := pr.res
		u.resolved[i] = &res
		if changed {
			changesTotal.WithLabelValues(labels...).Inc()
			log.Info("Image changed", "image", ip.spec.Name, "tag", res.Tag, "digest", res.Digest)
			r.event(u.owner, corev1.EventTypeNormal, EventImageChanged, actionPoll,
				fmt.Sprintf("%simage %s: %s:%s is now %s", u.prefix(), ip.spec.Name, ip.spec.Image, res.Tag, res.Digest))
		}
	}
}

// pollImage loads an image's credentials and asks its registry.
func (r *Reconciler) pollImage(ctx context.Context, namespace string, ip imagePlan) *pollResult {
	pr := &pollResult{}
	q := ip.query
	keychains := []authn.Keychain{}
	if ip.spec.PullSecret != "" {
		secret := &corev1.Secret{}
		if err := r.getRef(ctx, namespace, ip.spec.PullSecret, secret); err != nil {
			pr.err = refError("pull secret", ip.spec.PullSecret, err)
			return pr
		}
		ps, err := registry.ParsePullSecret(secret)
		if err != nil {
			pr.err = failure.New(imagesv1.ReasonCredentialsNotFound, err, "pull secret %s is not a docker config", ip.spec.PullSecret)
			return pr
		}
		pr.secrets = append(pr.secrets, ps.Secrets()...)
		keychains = append(keychains, ps)
	}
	if ip.credential != nil {
		kc, secrets, err := r.imageCredential(ctx, namespace, *ip.credential)
		if err != nil {
			pr.err = err
			return pr
		}
		pr.secrets = append(pr.secrets, secrets...)
		keychains = append(keychains, kc)
	}
	keychains = append(keychains, r.AmbientCredentials.Keychain(r.Keychain, namespace))
	q.Keychain = authn.NewMultiKeychain(keychains...)

	ca, err := r.caBundle(ctx, namespace, ip.spec)
	if err != nil {
		pr.err = err
		return pr
	}
	tr, err := r.transports.Get(ca, ip.spec.Insecure)
	if err != nil {
		pr.err = failure.New(imagesv1.ReasonCredentialsNotFound, err, "CA bundle of image %s", ip.spec.Name)
		return pr
	}
	q.Transport = tr

	ctx, cancel := context.WithTimeout(ctx, r.PollTimeout)
	defer cancel()
	pr.res, pr.err = r.registry.Resolve(ctx, q)
	return pr
}

// imageCredential reads an image's secret:, env: or ext: credential
// reference (argocd-image-updater's pullSecret forms), again at every poll.
// env: and ext: are the image updater's own credentials, like its cloud
// identity and registries.conf's: only the namespaces r.AmbientCredentials
// allows may use them.
func (r *Reconciler) imageCredential(ctx context.Context, namespace string, ref registriesconf.CredentialRef) (authn.Keychain, []string, error) {
	if (ref.Kind == registriesconf.Env || ref.Kind == registriesconf.Ext) && !r.AmbientCredentials.Allows(namespace) {
		return nil, nil, failure.New(imagesv1.ReasonAmbientCredentialsNotAllowed, nil,
			"pullSecret %s is the image updater's own credentials, which ImageUpdaters in namespace %s may not use; use pullsecret: or secret: with a Secret of the namespace, or ask the operator to allow the namespace with %s",
			ref, namespace, registry.AmbientNamespacesFlag)
	}
	kc, secrets, err := registriesconf.Sources{Reader: r.APIReader, Getenv: r.Getenv}.Fetch(ctx, ref)
	if err != nil {
		return nil, nil, failure.New(imagesv1.ReasonCredentialsNotFound, err, "pullSecret %s: %s", ref, failure.RootCause(err))
	}
	return kc, secrets, nil
}

// caBundle reads the image's CA from its Secret or ConfigMap.
func (r *Reconciler) caBundle(ctx context.Context, namespace string, spec imagesv1.ImageSpec) ([]byte, error) {
	switch {
	case spec.CASecret != nil:
		s := &corev1.Secret{}
		if err := r.getRef(ctx, namespace, spec.CASecret.Name, s); err != nil {
			return nil, refError("CA secret", spec.CASecret.Name, err)
		}
		key := orDefault(spec.CASecret.Key, defaultCAKey)
		if len(s.Data[key]) == 0 {
			return nil, failure.New(imagesv1.ReasonCredentialsNotFound, nil, "CA secret %s has no key %q", spec.CASecret.Name, key)
		}
		return s.Data[key], nil
	case spec.CAConfigMap != nil:
		cm := &corev1.ConfigMap{}
		if err := r.getRef(ctx, namespace, spec.CAConfigMap.Name, cm); err != nil {
			return nil, refError("CA config map", spec.CAConfigMap.Name, err)
		}
		key := orDefault(spec.CAConfigMap.Key, defaultCAKey)
		if v, ok := cm.Data[key]; ok && v != "" {
			return []byte(v), nil
		}
		if v := cm.BinaryData[key]; len(v) > 0 {
			return v, nil
		}
		return nil, failure.New(imagesv1.ReasonCredentialsNotFound, nil, "CA config map %s has no key %q", spec.CAConfigMap.Name, key)
	case r.RegistryCADir != "":
		// argocd-image-updater's convention: a PEM file named after the
		// registry host in the controller's TLS directory.
		repo, err := name.NewRepository(spec.Image)
		if err != nil {
			return nil, nil
		}
		data, err := os.ReadFile(filepath.Join(r.RegistryCADir, repo.RegistryStr()))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil
			}
			return nil, failure.New(imagesv1.ReasonCredentialsNotFound, err, "read the CA of registry %s", repo.RegistryStr())
		}
		return data, nil
	}
	return nil, nil
}

// getRef reads an object of the ImageUpdater's namespace, uncached.
func (r *Reconciler) getRef(ctx context.Context, namespace, name string, obj client.Object) error {
	return r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, obj)
}

// refError classifies a failed read of a referenced object.
func refError(what, name string, err error) error {
	if apierrors.IsNotFound(err) {
		return failure.New(imagesv1.ReasonCredentialsNotFound, err, "%s %s not found", what, name)
	}
	return failure.New(imagesv1.ReasonCredentialsNotFound, err, "read %s %s: %s", what, name, failure.RootCause(err))
}

// outcome turns an error into a redacted outcome; def is the reason of an
// error nobody classified.
func (u *unit) outcome(err error, def string) outcome {
	if err == nil {
		return outcome{}
	}
	var fe *failure.Error
	if errors.As(err, &fe) {
		return outcome{reason: fe.Reason, message: u.redactor.String(fe.Message)}
	}
	return outcome{reason: def, message: u.redactor.String(err.Error())}
}
