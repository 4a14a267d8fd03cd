package notifications

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/argoproj/notifications-engine/pkg/services"
	"github.com/argoproj/notifications-engine/pkg/subscriptions"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Event reasons of the notifier's own events on a Rollout. They are
// recorded past the notifier, so they fire no notification themselves.
const (
	// EventConfigInvalid: a template or trigger the Rollout's notification
	// needs is malformed (or missing); the event names it.
	EventConfigInvalid = "NotificationConfigInvalid"
	// EventSendFailed: a notification was given up after its retries.
	EventSendFailed = "NotificationFailed"
)

// Defaults of Options.
const (
	DefaultQueueSize   = 1024
	DefaultMaxAttempts = 5
	DefaultRetryBase   = time.Second
	DefaultRetryMax    = time.Minute
	DefaultSendTimeout = 30 * time.Second
	DefaultConfigTTL   = 10 * time.Second
	DefaultDrain       = 10 * time.Second
	// maxInFlight bounds the sends running at once, including those given
	// up on after SendTimeout whose receiver still has not answered.
	maxInFlight = 4
)

// Options configure a Notifier.
type Options struct {
	// Namespace holds the controller's ConfigMap and Secret.
	Namespace string
	// SelfService also reads the ConfigMap and Secret of the Rollout's
	// namespace (the reference's --self-service-notification-enabled).
	SelfService bool
	// Reader reads the configuration and the live Rollout uncached;
	// Client patches the Rollout's NotifiedAnnotation.
	Reader client.Reader
	Client client.Client
	// Recorder records the notifier's own events.
	Recorder events.EventRecorder
	Metrics  *Metrics
	Clock    clock.WithDelayedExecution
	Log      logr.Logger

	QueueSize   int
	MaxAttempts int
	RetryBase   time.Duration
	RetryMax    time.Duration
	SendTimeout time.Duration
	ConfigTTL   time.Duration
	// Drain is how long a stopping Notifier keeps sending what is queued.
	Drain time.Duration
}

// Notifier sends the notifications of Rollout events. Enqueue never
// blocks; Start runs the worker (a manager Runnable, on the leader only).
type Notifier struct {
	opts     Options
	queue    chan *item
	inFlight chan struct{}
	configs  *configSource

	// stopping is closed when the worker stops taking retries.
	stopping chan struct{}
	stopOnce sync.Once
}

// item is one event to announce, with the Rollout as it was when the event
// was recorded.
type item struct {
	ro                *v1alpha1.Rollout
	eventType, reason string
	note              string
	attempt           int
	// delivered holds the keys sent by an earlier attempt, should their
	// recording on the Rollout have failed.
	delivered map[string]bool
}

// New returns a Notifier; zero Options fields take their defaults.
func New(opts Options) *Notifier {
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = DefaultRetryBase
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = DefaultRetryMax
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = DefaultSendTimeout
	}
	if opts.ConfigTTL <= 0 {
		opts.ConfigTTL = DefaultConfigTTL
	}
	if opts.Drain <= 0 {
		opts.Drain = DefaultDrain
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Notifier{
		opts:     opts,
		queue:    make(chan *item, opts.QueueSize),
		inFlight: make(chan struct{}, maxInFlight),
		configs:  &configSource{reader: opts.Reader, clock: opts.Clock, ttl: opts.ConfigTTL, loaded: map[string]loadedConfig{}},
		stopping: make(chan struct{}),
	}
}

// NeedLeaderElection: only the leader announces what its passes did.
func (n *Notifier) NeedLeaderElection() bool { return true }

// Enqueue queues the notification of an event recorded on regarding. It
// never blocks: events of objects other than Rollouts, of Rollouts that
// subscribe to nothing, and events arriving to a full queue are not queued
// (the last counted in notification_send_error).
func (n *Notifier) Enqueue(regarding runtime.Object, eventType, reason, note string) {
	ro, ok := regarding.(*v1alpha1.Rollout)
	if !ok || reason == "" || !n.mayNotify(ro, Trigger(reason)) {
		return
	}
	it := &item{ro: ro.DeepCopy(), eventType: eventType, reason: reason, note: note}
	if !n.offer(it) {
		n.opts.Metrics.Error.WithLabelValues(ro.Namespace, ro.Name, eventType, reason).Inc()
		n.opts.Log.Error(errors.New("notification queue full"), "dropping notification",
			"rollout", klog.KObj(ro), "trigger", Trigger(reason))
	}
}

func (n *Notifier) offer(it *item) bool {
	select {
	case n.queue <- it:
		return true
	default:
		return false
	}
}

// mayNotify: the Rollout may subscribe to the trigger, or some
// configuration has global subscriptions (matched against its labels when
// sent). An abort is always considered: it restarts the announcements of
// its revision (State.Record).
func (n *Notifier) mayNotify(ro *v1alpha1.Rollout, trigger string) bool {
	if trigger == triggerAborted {
		return hasSubscriptions(ro.Annotations, "") || n.configs.hasGlobalSubscriptions()
	}
	return hasSubscriptions(ro.Annotations, trigger) || n.configs.hasGlobalSubscriptions()
}

// hasSubscriptions reports whether annotations may subscribe to trigger
// (any trigger when ""): subscribe.<trigger>.<service>, a subscription to
// a service's default triggers (subscribe.<service>), or the YAML
// subscriptions annotation.
func hasSubscriptions(annotations map[string]string, trigger string) bool {
	const prefix = "notifications.argoproj.io/subscribe."
	for k := range annotations {
		if k == "notifications.argoproj.io/subscriptions" {
			return true
		}
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if trigger == "" || !strings.Contains(rest, ".") || strings.HasPrefix(rest, trigger+".") {
			return true
		}
	}
	return false
}

// Start sends queued notifications until ctx ends, then keeps sending what
// is queued for at most Drain, so a graceful restart loses nothing queued.
func (n *Notifier) Start(ctx context.Context) error {
	defer n.stopOnce.Do(func() { close(n.stopping) })
	// Read the controller's configuration now: whether it has global
	// subscriptions decides which events are queued.
	n.configs.get(ctx, n.opts.Namespace)
	for {
		select {
		case it := <-n.queue:
			n.process(ctx, it)
		case <-ctx.Done():
			return n.drain()
		}
	}
}

func (n *Notifier) drain() error {
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.Drain)
	defer cancel()
	n.stopOnce.Do(func() { close(n.stopping) })
	for {
		select {
		case it := <-n.queue:
			n.process(ctx, it)
		default:
			return nil
		}
		if ctx.Err() != nil {
			if left := len(n.queue); left > 0 {
				n.opts.Log.Error(ctx.Err(), "notifications left unsent at shutdown", "count", left)
			}
			return nil
		}
	}
}

// process sends an item's notifications; what failed is retried with
// backoff, up to MaxAttempts.
func (n *Notifier) process(ctx context.Context, it *item) {
	log := n.opts.Log.WithValues("rollout", klog.KObj(it.ro), "trigger", Trigger(it.reason))
	failed, err := n.send(ctx, log, it)
	if err != nil {
		log.Error(err, "notification")
	}
	if !failed {
		return
	}
	it.attempt++
	if it.attempt >= n.opts.MaxAttempts {
		log.Error(err, "giving up on notification", "attempts", it.attempt)
		n.opts.Recorder.Eventf(it.ro, nil, corev1.EventTypeWarning, EventSendFailed, "Notify",
			"Notification for trigger %s not sent after %d attempts: %v", Trigger(it.reason), it.attempt, err)
		return
	}
	delay := n.backoff(it.attempt)
	n.opts.Clock.AfterFunc(delay, func() {
		select {
		case <-n.stopping:
			return
		default:
		}
		if !n.offer(it) {
			n.opts.Metrics.Error.WithLabelValues(it.ro.Namespace, it.ro.Name, it.eventType, it.reason).Inc()
			log.Error(errors.New("notification queue full"), "dropping notification retry")
		}
	})
}

// backoff is the delay before attempt (1-based count of failures so far):
// RetryBase doubled per failure, at most RetryMax.
func (n *Notifier) backoff(failures int) time.Duration {
	return Backoff(n.opts.RetryBase, n.opts.RetryMax, failures)
}

// Backoff returns base·2^(failures−1), capped at limit.
func Backoff(base, limit time.Duration, failures int) time.Duration {
	d := base
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// delivery is one notification to send: a destination and the templates
// of the trigger condition that fired.
type delivery struct {
	cfg       *config
	dest      services.Destination
	templates []string
	key       Key
}

// send sends an item's notifications. failed reports that some delivery
// failed and the item should be tried again.
func (n *Notifier) send(ctx context.Context, log logr.Logger, it *item) (failed bool, _ error) {
	trigger := Trigger(it.reason)
	revision := it.ro.Annotations[v1alpha1.RevisionAnnotation]
	step := ""
	if it.ro.Status.CurrentStepIndex != nil {
		step = strconv.Itoa(int(*it.ro.Status.CurrentStepIndex))
	}
	marker := NewKey(revision, step, trigger, it.note, "", "")

	var deliveries []delivery
	var sendErr error
	for _, cfg := range n.configsFor(ctx, it.ro.Namespace) {
		ds, err := n.plan(log, it, cfg, trigger, marker)
		if err != nil {
			sendErr = errors.Join(sendErr, err)
		}
		deliveries = append(deliveries, ds...)
	}
	if len(deliveries) == 0 && trigger != triggerAborted {
		return false, sendErr
	}
	// What was sent is read from the live Rollout: the event's copy may
	// predate the last record.
	live := &v1alpha1.Rollout{}
	if err := n.opts.Reader.Get(ctx, client.ObjectKeyFromObject(it.ro), live); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		n.countError(it)
		return true, errors.Join(sendErr, fmt.Errorf("read rollout %s: %w", klog.KObj(it.ro), err))
	}
	if live.UID != it.ro.UID {
		return false, nil // deleted and created again: not the Rollout of the event
	}
	state := ParseState(live.Annotations[NotifiedAnnotation])
	var obj map[string]any
	var sent []Key
	for _, d := range deliveries {
		if state.Sent(d.key) || it.delivered[d.key.String()] {
			continue
		}
		if obj == nil {
			var err error
			if obj, err = toMap(it.ro); err != nil {
				return false, err
			}
		}
		start := n.opts.Clock.Now()
		err := n.sendOne(ctx, d, obj)
		n.opts.Metrics.Duration.WithLabelValues(it.ro.Namespace, it.ro.Name).Observe(n.opts.Clock.Since(start).Seconds())
		if err != nil {
			n.countError(it)
			failed = true
			sendErr = errors.Join(sendErr, fmt.Errorf("send %s to %s: %w", trigger, destName(d.dest), err))
			continue
		}
		n.opts.Metrics.Success.WithLabelValues(it.ro.Namespace, it.ro.Name, it.eventType, it.reason).Inc()
		log.Info("notification sent", "service", d.dest.Service, "recipient", d.dest.Recipient, "templates", d.templates)
		if it.delivered == nil {
			it.delivered = map[string]bool{}
		}
		it.delivered[d.key.String()] = true
		sent = append(sent, d.key)
	}
	if trigger == triggerAborted && !state.Sent(marker) {
		sent = append(sent, marker)
	}
	if len(sent) > 0 {
		if err := n.record(ctx, it.ro, sent); err != nil {
			// Sent but not recorded: a later attempt records it (the
			// keys stay in it.delivered, so nothing is sent twice).
			failed = true
			sendErr = errors.Join(sendErr, err)
		}
	}
	return failed, sendErr
}

func destName(d services.Destination) string {
	if d.Recipient == "" {
		return d.Service
	}
	return d.Service + ":" + d.Recipient
}

func (n *Notifier) countError(it *item) {
	n.opts.Metrics.Error.WithLabelValues(it.ro.Namespace, it.ro.Name, it.eventType, it.reason).Inc()
}

// configsFor returns the configurations a Rollout of namespace uses: the
// controller's, and its own namespace's with SelfService.
func (n *Notifier) configsFor(ctx context.Context, namespace string) []*config {
	namespaces := []string{n.opts.Namespace}
	if n.opts.SelfService && namespace != n.opts.Namespace {
		namespaces = append(namespaces, namespace)
	}
	var out []*config
	for _, ns := range namespaces {
		if cfg := n.configs.get(ctx, ns); cfg != nil {
			out = append(out, cfg)
		}
	}
	return out
}

// plan lists the deliveries of an item under one configuration. A
// malformed trigger or template is reported (a Warning event on the
// Rollout naming it) and its deliveries skipped; the rest go on.
func (n *Notifier) plan(log logr.Logger, it *item, cfg *config, trigger string, marker Key) ([]delivery, error) {
	if cfg.err != nil {
		n.invalid(log, it, cfg.err.Error())
		return nil, nil
	}
	dests := subscriptions.NewAnnotations(it.ro.Annotations).GetDestinations(cfg.api.GetConfig().DefaultTriggers, cfg.api.GetConfig().ServiceDefaultTriggers)
	dests.Merge(cfg.api.GetConfig().GetGlobalDestinations(it.ro.Labels))
	var ds []services.Destination
	for _, d := range dests[trigger] {
		if _, ok := cfg.api.GetNotificationServices()[d.Service]; ok && !slices.Contains(ds, d) {
			ds = append(ds, d)
		} else if err := cfg.invalid["service."+d.Service]; err != nil {
			n.invalid(log, it, fmt.Sprintf("service %q in %s/%s: %v", d.Service, cfg.namespace, ConfigMapName, err))
		}
	}
	if len(ds) == 0 {
		return nil, nil
	}
	if err := cfg.invalidTrigger(trigger); err != nil {
		n.invalid(log, it, fmt.Sprintf("trigger %q in %s/%s: %v", trigger, cfg.namespace, ConfigMapName, err))
		return nil, nil
	}
	conditions, ok := cfg.api.GetConfig().Triggers[trigger]
	if !ok {
		return nil, nil // subscribed to a trigger this configuration does not define
	}
	obj, err := toMap(it.ro)
	if err != nil {
		return nil, err
	}
	results, err := cfg.api.RunTrigger(trigger, obj)
	if err != nil {
		n.invalid(log, it, fmt.Sprintf("trigger %q in %s/%s: %v", trigger, cfg.namespace, ConfigMapName, err))
		return nil, nil
	}
	var out []delivery
	for i, res := range results {
		// A condition without `when` fires on every event of its reason,
		// as the reference's built-in triggers do.
		if i >= len(conditions) || !(res.Triggered || conditions[i].When == "") {
			continue
		}
		if bad := n.badTemplates(cfg, res.Templates); bad != "" {
			n.invalid(log, it, fmt.Sprintf("trigger %q in %s/%s: %s", trigger, cfg.namespace, ConfigMapName, bad))
			continue
		}
		for _, d := range ds {
			k := marker
			k.Service, k.Recipient = d.Service, d.Recipient
			if len(results) > 1 {
				k.Step += "#" + strconv.Itoa(i)
			}
			if cfg.namespace != n.opts.Namespace {
				k.Service = cfg.namespace + "/" + k.Service
			}
			out = append(out, delivery{cfg: cfg, dest: d, templates: res.Templates, key: k})
		}
	}
	return out, nil
}

// badTemplates names the templates that are malformed or not defined.
func (n *Notifier) badTemplates(cfg *config, templates []string) string {
	var bad []string
	for _, t := range templates {
		if err := cfg.invalidTemplate(t); err != nil {
			bad = append(bad, fmt.Sprintf("template %q is malformed: %v", t, err))
		} else if _, ok := cfg.api.GetConfig().Templates[t]; !ok {
			bad = append(bad, fmt.Sprintf("template %q is not defined", t))
		}
	}
	return strings.Join(bad, "; ")
}

// invalid reports a configuration problem met while notifying of it: a
// log line and a Warning event on the Rollout, both naming the problem.
func (n *Notifier) invalid(log logr.Logger, it *item, msg string) {
	log.Error(errors.New(msg), "notification configuration is invalid")
	n.countError(it)
	n.opts.Recorder.Eventf(it.ro, nil, corev1.EventTypeWarning, EventConfigInvalid, "Notify", "Notification for trigger %s not sent: %s", Trigger(it.reason), msg)
}

// sendOne renders and sends one notification, waiting at most SendTimeout:
// a receiver that never answers holds one of maxInFlight slots, never the
// worker.
func (n *Notifier) sendOne(ctx context.Context, d delivery, obj map[string]any) error {
	timeout := n.opts.Clock.NewTimer(n.opts.SendTimeout)
	defer timeout.Stop()
	select {
	case n.inFlight <- struct{}{}:
	case <-timeout.C():
		return fmt.Errorf("%d sends still waiting on their receivers", maxInFlight)
	case <-ctx.Done():
		return ctx.Err()
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-n.inFlight }()
		done <- d.cfg.api.Send(obj, d.templates, d.dest)
	}()
	select {
	case err := <-done:
		return err
	case <-timeout.C():
		return fmt.Errorf("no answer within %s", n.opts.SendTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// record adds keys to the Rollout's NotifiedAnnotation (an optimistic-lock
// patch of the live object, retried on conflict).
func (n *Notifier) record(ctx context.Context, ro *v1alpha1.Rollout, keys []Key) error {
	now := n.opts.Clock.Now().Unix()
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		live := &v1alpha1.Rollout{}
		if err := n.opts.Reader.Get(ctx, client.ObjectKeyFromObject(ro), live); err != nil {
			return err
		}
		if live.UID != ro.UID {
			return nil
		}
		st := ParseState(live.Annotations[NotifiedAnnotation])
		for _, k := range keys {
			st = st.Record(k, now)
		}
		patch := client.MergeFromWithOptions(live.DeepCopy(), client.MergeFromWithOptimisticLock{})
		if live.Annotations == nil {
			live.Annotations = map[string]string{}
		}
		live.Annotations[NotifiedAnnotation] = st.String()
		return n.opts.Client.Patch(ctx, live, patch)
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record notifications on rollout %s: %w", klog.KObj(ro), err)
	}
	return nil
}

// toMap is the Rollout as templates and trigger conditions see it.
func toMap(ro *v1alpha1.Rollout) (map[string]any, error) {
	ro = ro.DeepCopy()
	ro.APIVersion, ro.Kind = v1alpha1.GroupVersion.String(), "Rollout"
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ro)
	if err != nil {
		return nil, fmt.Errorf("convert rollout %s: %w", klog.KObj(ro), err)
	}
	return obj, nil
}
