// Package imageupdater is the controller of images.switchyard.dev
// ImageUpdaters: it polls registries for new image versions (sub-package
// registry, with the strategies of sub-package strategy) and writes them
// back to git (gitwrite + kustomize), to an Argo CD Application (argocd) or
// to a Rollout or Deployment (workload).
//
// Wire it into a manager with
//
//	(&imageupdater.Reconciler{Client: mgr.GetClient()}).SetupWithManager(mgr)
//
// Everything else has defaults.
package imageupdater

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/eventrecorder"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/gitwrite"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/redact"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registry"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/webhook"
)

// Defaults of the Reconciler's settings.
const (
	DefaultMinInterval      = 10 * time.Second
	DefaultPollTimeout      = time.Minute
	DefaultWriteBackTimeout = 2 * time.Minute
	DefaultUserAgent        = "switchyard-image-updater"
	// pollJobs bounds the images of one ImageUpdater polled at once.
	pollJobs = 4
)

// Reconciler reconciles ImageUpdaters. Only Client is required.
type Reconciler struct {
	// Client reads ImageUpdaters (cached) and writes status and patches.
	Client client.Client
	// APIReader reads Secrets, ConfigMaps and write-back targets uncached,
	// so the controller neither caches every Secret of the cluster nor needs
	// list/watch on them. Default: the manager's API reader.
	APIReader client.Reader
	// Scheme is the manager's scheme; SetupWithManager adds the
	// images.switchyard.dev types to it. Default: the manager's.
	Scheme *runtime.Scheme
	// Recorder records events; nil records none. Default: an
	// eventrecorder for "image-updater" that runs with the manager.
	Recorder events.EventRecorder
	// Clock dates status and drives polling and backoff. Default: real.
	Clock clock.Clock
	// Keychain gives the controller's own registry credentials, consulted
	// after an image's pull secret. Default: registry.AmbientKeychain (ECR
	// via the controller's AWS identity, anonymous elsewhere).
	Keychain authn.Keychain
	// AmbientCredentials lists the namespaces whose ImageUpdaters may use
	// Keychain. The zero value allows none: creating an ImageUpdater must
	// not grant a namespace the controller's own registry access.
	AmbientCredentials registry.AmbientPolicy
	// AllowCrossNamespaceRefs lets writeBack.argocd.namespace name another
	// namespace than the ImageUpdater's. Off by default: whoever may create
	// an ImageUpdater could otherwise patch any Application.
	AllowCrossNamespaceRefs bool
	// RegistryCADir holds PEM CA files named after registry hosts
	// (host[:port]), trusted for images of that registry that name no CA
	// of their own: argocd-image-updater's /app/config/tls/<host>. Empty:
	// none.
	RegistryCADir string
	// MinInterval is the shortest spec.interval accepted. Default 10s.
	MinInterval time.Duration
	// MaxBackoff caps the retry delay after failures. Default 10m.
	MaxBackoff time.Duration
	// PollTimeout bounds one image's registry lookup. Default 1m.
	PollTimeout time.Duration
	// WriteBackTimeout bounds one write-back. Default 2m.
	WriteBackTimeout time.Duration
	// MaxConcurrentReconciles is passed to the controller. Default 2.
	MaxConcurrentReconciles int
	// UserAgent is sent to registries.
	UserAgent string
	// Getenv reads the env: credentials of argocd-image-updater's images.
	// Default os.Getenv.
	Getenv func(string) string
	// Webhook, when set, triggers the ImageUpdaters tracking a pushed
	// image at once (see WebhookTracker): their pushed images are polled
	// whether due or not. Nil leaves polling alone.
	Webhook *webhook.Queue

	initOnce   sync.Once
	registry   *registry.Client
	transports registry.Transports
	git        *gitwrite.Writer
}

// +kubebuilder:rbac:groups=images.switchyard.dev,resources=imageupdaters,verbs=get;list;watch
// +kubebuilder:rbac:groups=images.switchyard.dev,resources=imageupdaters/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets;configmaps,verbs=get
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=applications,verbs=get;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=rollouts,verbs=get;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;patch

// defaultsFrom fills in what is unset from mgr (client, reader, scheme,
// recorder) and adds a front door's API to the scheme: shared by both
// kinds' controllers, which run the same engine.
func (r *Reconciler) defaultsFrom(mgr ctrl.Manager, gv schema.GroupVersion, addToScheme func(*runtime.Scheme) error) error {
	if r.Client == nil {
		r.Client = mgr.GetClient()
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	if r.Scheme == nil {
		r.Scheme = mgr.GetScheme()
	}
	if r.Recorder == nil {
		rec, err := eventrecorder.ForManager(mgr, "image-updater")
		if err != nil {
			return err
		}
		r.Recorder = rec
	}
	if err := addToScheme(r.Scheme); err != nil {
		return fmt.Errorf("add %s to the scheme: %w", gv, err)
	}
	return nil
}

// SetupWithManager fills in defaults from mgr and registers the controller.
// Status updates do not trigger reconciles (GenerationChangedPredicate): the
// controller schedules its own polls with RequeueAfter.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := r.defaultsFrom(mgr, imagesv1.GroupVersion, imagesv1.AddToScheme); err != nil {
		return err
	}
	if r.MaxConcurrentReconciles == 0 {
		r.MaxConcurrentReconciles = 2
	}
	r.init()
	b := ctrl.NewControllerManagedBy(mgr).
		For(&imagesv1.ImageUpdater{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("imageupdater").
		WithOptions(controller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles})
	if r.Webhook != nil {
		if err := r.setupWebhook(context.Background(), mgr); err != nil {
			return err
		}
		b = b.WatchesRawSource(r.Webhook.Source())
	}
	return b.Complete(r)
}

// init fills the defaults that do not need a manager.
func (r *Reconciler) init() {
	r.initOnce.Do(func() {
		if r.Clock == nil {
			r.Clock = clock.RealClock{}
		}
		if r.APIReader == nil {
			r.APIReader = r.Client
		}
		if r.Keychain == nil {
			r.Keychain = registry.AmbientKeychain(r.Clock)
		}
		if r.MinInterval == 0 {
			r.MinInterval = DefaultMinInterval
		}
		if r.MaxBackoff == 0 {
			r.MaxBackoff = DefaultMaxBackoff
		}
		if r.PollTimeout == 0 {
			r.PollTimeout = DefaultPollTimeout
		}
		if r.WriteBackTimeout == 0 {
			r.WriteBackTimeout = DefaultWriteBackTimeout
		}
		if r.UserAgent == "" {
			r.UserAgent = DefaultUserAgent
		}
		r.registry = &registry.Client{UserAgent: r.UserAgent}
		r.git = &gitwrite.Writer{Clock: r.Clock}
	})
}

// scope is the state of one reconcile.
type scope struct {
	iu          *imagesv1.ImageUpdater
	unit        *unit
	specChanged bool
	// stop ends the reconcile after the current phase.
	stop bool
}

// phase is one step of a reconcile.
type phase func(ctx context.Context, s *scope) (ctrl.Result, error)

// Reconcile polls the due images of an ImageUpdater and writes new versions
// back. Status is written once, at the end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	r.init()
	iu := &imagesv1.ImageUpdater{}
	if err := r.Client.Get(ctx, req.NamespacedName, iu); err != nil {
		if apierrors.IsNotFound(err) {
			forgetMetrics(req.Namespace, req.Name)
			r.Webhook.Take(req.NamespacedName) // drop pushes nobody will poll
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get ImageUpdater %s: %w", req.NamespacedName, err)
	}
	if !iu.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // no finalizer: nothing to clean up
	}

	before := iu.DeepCopy()
	s := &scope{iu: iu, unit: &unit{
		owner: iu, namespace: iu.Namespace, name: iu.Name,
		now: metav1.NewTime(r.Clock.Now()), redactor: redact.New(),
	}}
	defer func() {
		if equality.Semantic.DeepEqual(before.Status, iu.Status) {
			return
		}
		if err := r.Client.Status().Patch(ctx, iu, client.MergeFrom(before)); err != nil {
			retErr = errors.Join(retErr, fmt.Errorf("patch status of ImageUpdater %s: %w", klog.KObj(iu), err))
		}
	}()

	for _, p := range []phase{r.reconcileSuspend, r.reconcileSpec, r.reconcilePoll, r.reconcileWriteBack, r.reconcileStatus} {
		res, err := p(ctx, s)
		result = res
		if err != nil || s.stop {
			return result, err
		}
	}
	return result, nil
}

// reconcileSuspend stops here when spec.suspend is set.
func (r *Reconciler) reconcileSuspend(_ context.Context, s *scope) (ctrl.Result, error) {
	if !s.iu.Spec.Suspend {
		return ctrl.Result{}, nil
	}
	s.stop = true
	setConditions(&s.iu.Status, metav1.Condition{
		Type: imagesv1.ConditionReady, Status: metav1.ConditionFalse, Reason: imagesv1.ReasonSuspended,
		Message: "spec.suspend is set", ObservedGeneration: s.iu.Generation,
	})
	s.iu.Status.ObservedGeneration = s.iu.Generation
	return ctrl.Result{}, nil
}

// reconcileSpec validates the spec. An invalid spec is Stalled and not
// retried until it changes (a terminal error).
func (r *Reconciler) reconcileSpec(ctx context.Context, s *scope) (ctrl.Result, error) {
	p, err := compile(s.iu, planOptions{minInterval: r.MinInterval, allowCrossNamespace: r.AllowCrossNamespaceRefs})
	if err != nil {
		s.stop = true
		msg := s.unit.redactor.String(err.Error())
		wasStalled := s.iu.Status.ObservedGeneration == s.iu.Generation && hasReason(s.iu, imagesv1.ConditionStalled, imagesv1.ReasonInvalidSpec)
		setStalled(&s.iu.Status, s.iu.Generation, imagesv1.ReasonInvalidSpec, msg)
		s.iu.Status.ObservedGeneration = s.iu.Generation
		if !wasStalled {
			r.event(s.iu, "Warning", imagesv1.ReasonInvalidSpec, actionValidate, msg)
		}
		return ctrl.Result{}, reconcile.TerminalError(fmt.Errorf("invalid spec of ImageUpdater %s: %s", klog.KObj(s.iu), msg))
	}
	s.unit.plan = p
	s.specChanged = s.iu.Status.ObservedGeneration != s.iu.Generation
	s.iu.Status.Images = syncImageStatuses(s.iu.Spec.Images, s.iu.Status.Images)
	s.unit.statuses = s.iu.Status.Images
	s.unit.resolved = make([]*registry.Result, len(p.images))
	return ctrl.Result{}, nil
}

// reconcileStatus sets the conditions and schedules the next poll.
func (r *Reconciler) reconcileStatus(_ context.Context, s *scope) (ctrl.Result, error) {
	setConditions(&s.iu.Status, readyCondition(s.iu.Status.Images, s.iu.Generation))
	s.iu.Status.ObservedGeneration = s.iu.Generation
	return ctrl.Result{RequeueAfter: requeueAfter(s.iu.Status.Images, s.unit.now.Time, s.unit.plan.interval, r.MaxBackoff)}, nil
}

// event records an event with a redacted, constant-format message.
func (r *Reconciler) event(obj runtime.Object, eventType, reason, action, message string) {
	if r.Recorder == nil || obj == nil {
		return
	}
	r.Recorder.Eventf(obj, nil, eventType, reason, action, "%s", message)
}

func hasReason(iu *imagesv1.ImageUpdater, condType, reason string) bool {
	for _, c := range iu.Status.Conditions {
		if c.Type == condType {
			return c.Reason == reason
		}
	}
	return false
}
