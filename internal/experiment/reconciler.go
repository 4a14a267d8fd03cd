// Package experiment is the Experiment controller: it runs an Experiment's
// templates as ReplicaSets (and Services), starts its analyses as
// AnalysisRuns once every template is available, and decides its phase by
// the reference's rules (decide.go, pure and table-tested).
//
// A pass reads the Experiment, checks its spec and, before anything runs,
// that its analyses can be built; it then gathers the ReplicaSets and
// Services the Experiment owns, sizes each template's ReplicaSet (scaling
// down after scaleDownDelaySeconds once the Experiment ends), creates or
// follows the runs, and writes the status once. It comes back at the end
// of the duration and at each template's progress deadline.
package experiment

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis"
	"github.com/switchyard-dev/switchyard/internal/instanceid"
	"github.com/switchyard-dev/switchyard/internal/metrics"
	"github.com/switchyard-dev/switchyard/internal/requeue"
)

// Event reasons, with the reference's names (notification triggers and
// alerts match on them). Template<status>, AnalysisRun<phase> and
// Experiment<phase> are built from the state reached.
const (
	EventScalingReplicaSet      = "ScalingReplicaSet"
	EventInvalidSpec            = "InvalidSpec"
	EventAnalysisRunTerminating = "AnalysisRunTerminating"
	EventReplicaSetCreateError  = "ReplicaSetCreateError"
)

// maxRunNames bounds the <name>.N suffixes tried for one run.
const maxRunNames = 100

// Reconciler drives Experiments.
type Reconciler struct {
	Client client.Client
	// APIReader reads uncached: analysis templates (only while an
	// Experiment starts, so none is cached), and a run or ReplicaSet the
	// cache does not show yet.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	// MaxConcurrentReconciles is the number of Experiments reconciled at once.
	MaxConcurrentReconciles int
	// Metrics times each pass and counts its errors (nil: none).
	Metrics *metrics.Metrics

	// ownWrites maps an Experiment to the resourceVersion its last status
	// write by this controller replaced. While the cache still shows that
	// version, a pass would act on a status without what the last pass
	// did (a run it created would be created again); the watch event of
	// the write brings the Experiment back.
	ownWrites sync.Map
}

// +kubebuilder:rbac:groups=argoproj.io,resources=experiments,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=analysistemplates;clusteranalysistemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// scope is the state of one pass. ex keeps the status read at the start
// (the decisions' input); next is the status being built.
type scope struct {
	ex       *v1alpha1.Experiment
	original *v1alpha1.Experiment
	next     v1alpha1.ExperimentStatus
	now      time.Time

	terminating bool
	replicaSets map[string]*appsv1.ReplicaSet
	services    map[string]*corev1.Service

	// recheck is the earliest time a scale-down delay ends.
	recheck time.Time
	events  []event
	// stop ends the pass after the current phase.
	stop bool
}

// event is one event about the Experiment. related (a ReplicaSet, a run)
// keeps events of the same reason about different objects apart: the
// events API folds events with the same reason, regarding and related
// object into one series.
type event struct {
	warning      bool
	reason, note string
	related      runtime.Object
	// toRollout: the event is also recorded, as a Warning, on the Rollout
	// whose step the Experiment runs (notifications subscribe there).
	toRollout bool
}

func (s *scope) event(related runtime.Object, warning bool, reason, format string, args ...any) {
	if v := reflect.ValueOf(related); related != nil && v.Kind() == reflect.Pointer && v.IsNil() {
		related = nil
	}
	s.events = append(s.events, event{warning: warning, reason: reason, note: fmt.Sprintf(format, args...), related: related})
}

// Reconcile runs one pass over an Experiment.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	ex := &v1alpha1.Experiment{}
	if err := r.Client.Get(ctx, req.NamespacedName, ex); err != nil {
		if apierrors.IsNotFound(err) {
			r.ownWrites.Delete(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ex.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	if replaced, ok := r.ownWrites.Load(req.NamespacedName); ok {
		if replaced == ex.ResourceVersion {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		r.ownWrites.Delete(req.NamespacedName)
	}
	log := ctrl.LoggerFrom(ctx).WithValues("experiment", klog.KObj(ex))
	ctx = ctrl.LoggerInto(ctx, log)
	s := &scope{ex: ex, original: ex.DeepCopy(), next: *ex.Status.DeepCopy(), now: r.Clock.Now(), terminating: Terminating(ex)}
	defer func() {
		if err := r.writeStatus(ctx, s); err != nil {
			if apierrors.IsConflict(err) {
				result, retErr = ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
				return
			}
			retErr = errors.Join(retErr, fmt.Errorf("write status of experiment %s: %w", klog.KObj(ex), err))
		}
	}()

	phases := []struct {
		name string
		run  func(context.Context, *scope) (ctrl.Result, error)
	}{
		{"validate", r.validate},
		{"gather", r.gather},
		{"reconcile templates", r.templates},
		{"reconcile analyses", r.analyses},
		{"decide", r.decide},
	}
	for _, phase := range phases {
		res, err := phase.run(ctx, s)
		result = requeue.Sooner(result, res)
		if err != nil {
			return result, fmt.Errorf("%s: %w", phase.name, err)
		}
		if s.stop {
			break
		}
	}
	return result, nil
}

// SetupWithManager registers the reconciler: the Experiment's ReplicaSets,
// Services and AnalysisRuns bring it back when they change.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	// Listed by their Experiment, a pass does not read every ReplicaSet
	// and Service of a namespace of thousands of Rollouts.
	for _, obj := range []client.Object{&appsv1.ReplicaSet{}, &corev1.Service{}} {
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), obj, ownerIndex, indexOwner); err != nil {
			return fmt.Errorf("index %T by experiment: %w", obj, err)
		}
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("Experiments").
		For(&v1alpha1.Experiment{}).
		Owns(&appsv1.ReplicaSet{}).
		Owns(&corev1.Service{}).
		Owns(&v1alpha1.AnalysisRun{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)}).
		Complete(r.Metrics.Observe(metrics.Experiment, r))
}

// ownerIndex keys a ReplicaSet or Service by the UID of the Experiment
// controlling it.
const ownerIndex = "experiment.owner"

func indexOwner(obj client.Object) []string {
	ref := metav1.GetControllerOf(obj)
	if ref == nil || ref.Kind != Kind.Kind || !strings.HasPrefix(ref.APIVersion, Kind.Group+"/") {
		return nil
	}
	return []string{string(ref.UID)}
}

// validate checks the spec and, until the runs start, that every analysis
// can be built from its templates. A problem ends the Experiment in Error
// before anything is created, with the InvalidSpec condition naming it.
func (r *Reconciler) validate(ctx context.Context, s *scope) (ctrl.Result, error) {
	msg := Validate(s.ex)
	if msg == "" && s.ex.Status.Phase.Completed() && Condition(&s.ex.Status, v1alpha1.ExperimentInvalidSpec) != nil {
		// It ended for its spec: nothing was created, nothing more to do
		// until it is retried.
		s.stop = true
		return ctrl.Result{}, nil
	}
	if msg == "" && !s.ex.Status.Phase.Completed() && s.ex.Status.AvailableAt == nil {
		var err error
		if msg, err = r.checkAnalyses(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
	}
	if msg == "" {
		RemoveCondition(&s.next, v1alpha1.ExperimentInvalidSpec)
		return ctrl.Result{}, nil
	}
	s.stop = true
	if c := Condition(&s.ex.Status, v1alpha1.ExperimentInvalidSpec); c == nil || c.Message != msg {
		s.event(nil, true, EventInvalidSpec, "InvalidSpec: %s", msg)
	}
	t := metav1.NewTime(s.now)
	RemoveCondition(&s.next, v1alpha1.ExperimentInvalidSpec)
	SetCondition(&s.next, v1alpha1.ExperimentCondition{
		Type: v1alpha1.ExperimentInvalidSpec, Status: corev1.ConditionTrue, Reason: ReasonInvalidSpec,
		Message: msg, LastUpdateTime: t, LastTransitionTime: t,
	})
	if !s.ex.Status.Phase.Completed() {
		r.setPhase(s, v1alpha1.AnalysisPhaseError, msg)
	}
	return ctrl.Result{}, nil
}

// checkAnalyses builds each analysis's run as it would be created (the
// Experiment's placeholders still unfilled): a missing template, a
// template cycle, duplicate metrics or an arg nobody supplies is reported
// now, before any ReplicaSet exists.
func (r *Reconciler) checkAnalyses(ctx context.Context, s *scope) (string, error) {
	for _, a := range s.ex.Spec.Analyses {
		_, err := r.runSpec(ctx, s.ex, &a, nil)
		if err == nil {
			continue
		}
		if !analysis.IsSpecError(err) {
			return "", err
		}
		msg := fmt.Sprintf("AnalysisTemplate verification failed for analysis '%s': %v", a.Name, err)
		setRunStatus(&s.next, v1alpha1.ExperimentAnalysisRunStatus{Name: a.Name, Phase: v1alpha1.AnalysisPhaseError, Message: msg})
		return msg, nil
	}
	return "", nil
}

// gather reads the ReplicaSets and Services the Experiment controls, by
// template.
func (r *Reconciler) gather(ctx context.Context, s *scope) (ctrl.Result, error) {
	var rss appsv1.ReplicaSetList
	if err := r.Client.List(ctx, &rss, client.InNamespace(s.ex.Namespace), client.MatchingFields{ownerIndex: string(s.ex.UID)}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list replicasets: %w", err)
	}
	s.replicaSets = map[string]*appsv1.ReplicaSet{}
	for i := range rss.Items {
		rs := &rss.Items[i]
		name, ok := Belongs(s.ex, rs)
		if !ok {
			continue
		}
		if prev := s.replicaSets[name]; prev != nil {
			return ctrl.Result{}, fmt.Errorf("replicasets %s and %s both claim template %q", prev.Name, rs.Name, name)
		}
		s.replicaSets[name] = rs
	}
	var svcs corev1.ServiceList
	if err := r.Client.List(ctx, &svcs, client.InNamespace(s.ex.Namespace), client.MatchingFields{ownerIndex: string(s.ex.UID)}); err != nil {
		return ctrl.Result{}, fmt.Errorf("list services: %w", err)
	}
	s.services = map[string]*corev1.Service{}
	for i := range svcs.Items {
		if name, ok := Belongs(s.ex, &svcs.Items[i]); ok {
			s.services[name] = &svcs.Items[i]
		}
	}
	return ctrl.Result{}, nil
}

// templates sizes each template's ReplicaSet (creating it first), keeps
// its Service, and assesses the template.
func (r *Reconciler) templates(ctx context.Context, s *scope) (ctrl.Result, error) {
	var result ctrl.Result
	for i := range s.ex.Spec.Templates {
		t := &s.ex.Spec.Templates[i]
		prev := v1alpha1.TemplateStatus{Name: t.Name}
		if ts := TemplateStatus(&s.ex.Status, t.Name); ts != nil {
			prev = *ts.DeepCopy()
		}
		obs, svc, err := r.syncTemplate(ctx, s, t, &prev)
		if err != nil {
			return result, err
		}
		ts := AssessTemplate(TemplateInput{
			Previous: prev, Observed: obs, Desired: DesiredReplicas(s.ex, t), Now: s.now,
			Deadline: ProgressDeadline(s.ex), DurationPassed: DurationPassed(s.ex, s.now), Terminating: s.terminating,
		})
		ts.ServiceName, ts.PodTemplateHash = "", ""
		if svc != nil {
			ts.ServiceName = svc.Name
			ts.PodTemplateHash = svc.Spec.Selector[v1alpha1.DefaultRolloutUniqueLabelKey]
		}
		if ts.Status != prev.Status {
			note := fmt.Sprintf("Template '%s' transitioned from %s -> %s", t.Name, prev.Status, ts.Status)
			if ts.Message != "" {
				note += ": " + ts.Message
			}
			s.event(s.replaceSetFor(t), ts.Status == v1alpha1.TemplateStatusFailed || ts.Status == v1alpha1.TemplateStatusError, "Template"+string(ts.Status), "%s", note)
		}
		setTemplateStatus(&s.next, ts)
	}
	if !s.recheck.IsZero() {
		result = requeue.At(s.recheck, s.now)
	}
	return result, nil
}

// syncTemplate creates and sizes a template's ReplicaSet and keeps its
// Service. It returns what it saw and did, and the template's Service.
// Failures retrying cannot fix are returned in Observed.Error (the
// template ends in Error); others are returned as errors.
func (r *Reconciler) syncTemplate(ctx context.Context, s *scope, t *v1alpha1.TemplateSpec, prev *v1alpha1.TemplateStatus) (Observed, *corev1.Service, error) {
	var obs Observed
	desired := DesiredReplicas(s.ex, t)
	rs := s.replicaSets[t.Name]
	svc := s.services[t.Name]
	if rs == nil {
		if s.terminating || prev.Status.Completed() {
			return obs, nil, nil
		}
		created, err := r.createReplicaSet(ctx, s, t, prev.CollisionCount)
		switch {
		case permanent(err):
			obs.Error = fmt.Sprintf("Failed to create ReplicaSet for template '%s': %v", t.Name, err)
			s.event(nil, true, EventReplicaSetCreateError, "%s", obs.Error)
			return obs, nil, nil
		case err != nil:
			return obs, nil, err
		}
		rs, obs.Touched = created, true
		s.replicaSets[t.Name] = rs
	}
	obs.Exists = true

	if t.Service != nil && desired != 0 && svc == nil {
		created, err := r.createService(ctx, s, t, rs)
		switch {
		case permanent(err):
			obs.Error = fmt.Sprintf("Failed to create Service %s for template '%s': %v", ServiceName(s.ex, t), t.Name, err)
		case err != nil:
			return obs, nil, err
		}
		svc = created
	}

	current := *rs.Spec.Replicas
	plan := PlanScale(current, desired, rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey], s.now, ScaleDownDelay(s.ex))
	if !plan.RecheckAt.IsZero() && (s.recheck.IsZero() || plan.RecheckAt.Before(s.recheck)) {
		s.recheck = plan.RecheckAt
	}
	scaled, err := r.applyScale(ctx, rs, plan)
	switch {
	case permanent(err):
		obs.Error = fmt.Sprintf("Unable to scale ReplicaSet for template '%s' to desired replica count '%d': %v", t.Name, plan.Replicas, err)
	case err != nil:
		return obs, nil, err
	case scaled:
		obs.Touched = true
		direction := "up"
		if plan.Replicas < current {
			direction = "down"
		}
		s.event(rs, false, EventScalingReplicaSet, "Scaled %s ReplicaSet %s from %d to %d", direction, rs.Name, current, plan.Replicas)
	}
	obs.Replicas, obs.Ready, obs.Available = rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas

	// The Service goes once nothing runs behind it, or when the template
	// stops asking for one.
	if svc != nil && (t.Service == nil || (*rs.Spec.Replicas == 0 && rs.Status.AvailableReplicas == 0)) {
		if err := r.Client.Delete(ctx, svc, client.Preconditions{UID: &svc.UID}); err != nil && !apierrors.IsNotFound(err) {
			if !permanent(err) {
				return obs, nil, fmt.Errorf("delete service %s: %w", klog.KObj(svc), err)
			}
			obs.Error = fmt.Sprintf("Failed to delete Service for template '%s': %v", t.Name, err)
			return obs, svc, nil
		}
		ctrl.LoggerFrom(ctx).Info("deleted Service", "service", klog.KObj(svc), "template", t.Name)
		svc = nil
	}
	return obs, svc, nil
}

// createReplicaSet creates a template's ReplicaSet with no pods. A
// ReplicaSet of that name that the Experiment controls is taken as it is
// (the cache had not shown it yet).
func (r *Reconciler) createReplicaSet(ctx context.Context, s *scope, t *v1alpha1.TemplateSpec, collisionCount *int32) (*appsv1.ReplicaSet, error) {
	rs := NewReplicaSet(s.ex, t, collisionCount)
	err := r.Client.Create(ctx, rs)
	if apierrors.IsAlreadyExists(err) {
		existing := &appsv1.ReplicaSet{}
		if gerr := r.APIReader.Get(ctx, client.ObjectKeyFromObject(rs), existing); gerr != nil {
			return nil, fmt.Errorf("get replicaset %s: %w", klog.KObj(rs), gerr)
		}
		if name, ok := Belongs(s.ex, existing); ok && name == t.Name {
			return existing, nil
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	ctrl.LoggerFrom(ctx).Info("created ReplicaSet", "replicaSet", klog.KObj(rs), "template", t.Name)
	return rs, nil
}

// createService creates a template's Service, or adopts the Experiment's
// own Service of that name. A template without container ports has none.
func (r *Reconciler) createService(ctx context.Context, s *scope, t *v1alpha1.TemplateSpec, rs *appsv1.ReplicaSet) (*corev1.Service, error) {
	svc := NewService(s.ex, t, rs)
	if svc == nil {
		return nil, nil
	}
	err := r.Client.Create(ctx, svc)
	if apierrors.IsAlreadyExists(err) {
		existing := &corev1.Service{}
		if gerr := r.APIReader.Get(ctx, client.ObjectKeyFromObject(svc), existing); gerr != nil {
			return nil, fmt.Errorf("get service %s: %w", klog.KObj(svc), gerr)
		}
		if name, ok := Belongs(s.ex, existing); ok && name == t.Name {
			return existing, nil
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	ctrl.LoggerFrom(ctx).Info("created Service", "service", klog.KObj(svc), "template", t.Name)
	return svc, nil
}

// applyScale writes the plan's replicas and deadline annotation to rs (and
// updates rs in place); it reports whether the replica count changed.
func (r *Reconciler) applyScale(ctx context.Context, rs *appsv1.ReplicaSet, plan ScalePlan) (bool, error) {
	before := rs.DeepCopy()
	scaled := *rs.Spec.Replicas != plan.Replicas
	rs.Spec.Replicas = &plan.Replicas
	switch {
	case plan.SetDeadline != "":
		if rs.Annotations == nil {
			rs.Annotations = map[string]string{}
		}
		rs.Annotations[v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey] = plan.SetDeadline
	case plan.RemoveDeadline:
		delete(rs.Annotations, v1alpha1.DefaultReplicaSetScaleDownDeadlineAnnotationKey)
	}
	if equality.Semantic.DeepEqual(before, rs) {
		return false, nil
	}
	if err := r.Client.Patch(ctx, rs, client.MergeFrom(before)); err != nil {
		*rs = *before
		return false, err
	}
	return scaled, nil
}

// analyses starts the runs once every template is available (setting
// availableAt), follows them, and terminates those still measuring when
// the Experiment ends.
func (r *Reconciler) analyses(ctx context.Context, s *scope) (ctrl.Result, error) {
	prevPhase := s.ex.Status.Phase
	if s.next.AvailableAt == nil && (prevPhase == v1alpha1.AnalysisPhasePending || prevPhase == v1alpha1.AnalysisPhaseRunning) {
		if p, _ := TemplatesPhase(&s.ex.Spec, &s.next); p == v1alpha1.AnalysisPhaseRunning {
			at := metav1.NewTime(s.now)
			s.next.AvailableAt = &at
		}
	}
	if s.next.AvailableAt == nil {
		return ctrl.Result{}, nil
	}
	// Args read availableAt from the Experiment.
	started := s.ex.DeepCopy()
	started.Status.AvailableAt = s.next.AvailableAt
	for i := range s.ex.Spec.Analyses {
		a := &s.ex.Spec.Analyses[i]
		prev := v1alpha1.ExperimentAnalysisRunStatus{Name: a.Name}
		if rs := RunStatus(&s.ex.Status, a.Name); rs != nil {
			prev = *rs
		}
		cur, err := r.syncRun(ctx, s, started, a, prev)
		if err != nil {
			return ctrl.Result{}, err
		}
		if cur.Phase != prev.Phase && cur.Phase != "" {
			note := fmt.Sprintf("AnalysisRun '%s' transitioned from %s -> %s", a.Name, prev.Phase, cur.Phase)
			if cur.Message != "" {
				note += ": " + cur.Message
			}
			warn := cur.Phase == v1alpha1.AnalysisPhaseFailed || cur.Phase == v1alpha1.AnalysisPhaseError || cur.Phase == v1alpha1.AnalysisPhaseInconclusive
			s.event(runRef(s.ex.Namespace, cur.AnalysisRun), warn, "AnalysisRun"+string(cur.Phase), "%s", note)
			s.events[len(s.events)-1].toRollout = true
		}
		setRunStatus(&s.next, cur)
	}
	return ctrl.Result{}, nil
}

// syncRun creates an analysis's run, or reads the one it has (terminating
// it when the Experiment ends), and returns the analysis's status.
func (r *Reconciler) syncRun(ctx context.Context, s *scope, ex *v1alpha1.Experiment, a *v1alpha1.ExperimentAnalysisTemplateRef, cur v1alpha1.ExperimentAnalysisRunStatus) (v1alpha1.ExperimentAnalysisRunStatus, error) {
	if cur.AnalysisRun == "" {
		if s.terminating || cur.Phase.Completed() {
			return cur, nil
		}
		run, err := r.createRun(ctx, ex, a, s.replicaSets)
		if err != nil {
			if !analysis.IsSpecError(err) {
				return cur, err
			}
			cur.Phase, cur.Message = v1alpha1.AnalysisPhaseError, fmt.Sprintf("Failed to create AnalysisRun for analysis '%s': %v", a.Name, err)
			return cur, nil
		}
		cur.AnalysisRun, cur.Phase, cur.Message = run.Name, v1alpha1.AnalysisPhasePending, ""
		return cur, nil
	}
	if cur.Phase.Completed() {
		return cur, nil
	}
	run, err := r.getRun(ctx, s.ex.Namespace, cur.AnalysisRun)
	if apierrors.IsNotFound(err) {
		cur.Phase, cur.Message = v1alpha1.AnalysisPhaseError, err.Error()
		return cur, nil
	}
	if err != nil {
		return cur, err
	}
	if s.terminating && !run.Status.Phase.Completed() && !run.Spec.Terminate {
		patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"terminate":true}}`))
		if err := r.Client.Patch(ctx, run, patch); err != nil && !apierrors.IsNotFound(err) {
			return cur, fmt.Errorf("terminate analysisrun %s: %w", klog.KObj(run), err)
		}
		s.event(run, false, EventAnalysisRunTerminating, "Terminating %s (%s)", a.Name, run.Name)
	}
	if run.Status.Phase != "" {
		cur.Phase, cur.Message = run.Status.Phase, run.Status.Message
	}
	return cur, nil
}

// getRun reads a run from the cache, or live when the cache does not have
// it yet (it was just created).
func (r *Reconciler) getRun(ctx context.Context, namespace, name string) (*v1alpha1.AnalysisRun, error) {
	run := &v1alpha1.AnalysisRun{}
	key := client.ObjectKey{Namespace: namespace, Name: name}
	err := r.Client.Get(ctx, key, run)
	if apierrors.IsNotFound(err) {
		err = r.APIReader.Get(ctx, key, run)
	}
	return run, err
}

// runSpec builds an analysis's run spec: its templates merged, its args
// resolved from the Experiment, the Experiment's dry-run and retention
// rules added.
func (r *Reconciler) runSpec(ctx context.Context, ex *v1alpha1.Experiment, a *v1alpha1.ExperimentAnalysisTemplateRef, rsByTemplate map[string]*appsv1.ReplicaSet) (*v1alpha1.AnalysisRunSpec, error) {
	args, err := ResolveArgs(ex, a.Args, rsByTemplate)
	if err != nil {
		return nil, err
	}
	return analysis.BuildRun(ctx, analysis.ClientTemplates{Reader: r.APIReader}, analysis.RunRequest{
		Namespace:            ex.Namespace,
		Templates:            analysis.TemplateRefs{{TemplateName: a.TemplateName, ClusterScope: a.ClusterScope}},
		Args:                 args,
		DryRun:               ex.Spec.DryRun,
		MeasurementRetention: ex.Spec.MeasurementRetention,
	})
}

// createRun creates an analysis's run, <experiment>-<analysis>, labelled
// with the Experiment's instance ID and analysisRunMetadata. When the name
// is taken by an equal run of this Experiment that still measures (a pass
// whose status write was lost) that run is used; otherwise <name>.1,
// <name>.2, ... are tried (a retried Experiment).
func (r *Reconciler) createRun(ctx context.Context, ex *v1alpha1.Experiment, a *v1alpha1.ExperimentAnalysisTemplateRef, rsByTemplate map[string]*appsv1.ReplicaSet) (*v1alpha1.AnalysisRun, error) {
	spec, err := r.runSpec(ctx, ex, a, rsByTemplate)
	if err != nil {
		return nil, err
	}
	run := &v1alpha1.AnalysisRun{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       ex.Namespace,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ex, Kind)},
		},
		Spec: *spec,
	}
	if md := ex.Spec.AnalysisRunMetadata; len(md.Labels) > 0 || len(md.Annotations) > 0 {
		run.Labels = cloneOrNil(md.Labels)
		run.Annotations = cloneOrNil(md.Annotations)
	}
	instanceid.CopyLabel(ex, run)
	base := RunBaseName(ex, a.Name)
	for n := range maxRunNames {
		run.Name = RunName(base, n)
		err := r.Client.Create(ctx, run)
		if err == nil {
			ctrl.LoggerFrom(ctx).Info("created AnalysisRun", "analysisRun", klog.KObj(run), "analysis", a.Name)
			return run, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			if permanent(err) {
				return nil, &analysis.SpecError{Msg: err.Error()}
			}
			return nil, fmt.Errorf("create analysisrun %s: %w", klog.KObj(run), err)
		}
		existing := &v1alpha1.AnalysisRun{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(run), existing); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("get analysisrun %s: %w", klog.KObj(run), err)
		}
		if metav1.IsControlledBy(existing, ex) &&
			!existing.Status.Phase.Completed() && !existing.Spec.Terminate && equality.Semantic.DeepEqual(existing.Spec, run.Spec) {
			return existing, nil
		}
		run.ResourceVersion = ""
	}
	return nil, fmt.Errorf("create analysisrun: %s and %d suffixed names are taken", base, maxRunNames-1)
}

func cloneOrNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// decide sets the phase, message and Progressing condition from this
// pass's statuses, and when to come back.
func (r *Reconciler) decide(_ context.Context, s *scope) (ctrl.Result, error) {
	phase, msg := Phase(PhaseInput{Spec: &s.ex.Spec, Previous: s.ex.Status.Phase, Status: &s.next})
	r.setPhase(s, phase, msg)
	if c := ProgressingCondition(s.ex, &s.ex.Status, &s.next, s.now); c != nil {
		SetCondition(&s.next, *c)
	}
	next := s.ex.DeepCopy()
	next.Status = s.next
	return requeue.At(NextCheck(next, s.now), s.now), nil
}

// setPhase records the phase and its event.
func (r *Reconciler) setPhase(s *scope, phase v1alpha1.AnalysisPhase, msg string) {
	if phase != s.ex.Status.Phase {
		warn := phase == v1alpha1.AnalysisPhaseFailed || phase == v1alpha1.AnalysisPhaseError || phase == v1alpha1.AnalysisPhaseInconclusive
		s.event(nil, warn, "Experiment"+string(phase), "Experiment transitioned from %s -> %s", s.ex.Status.Phase, phase)
	}
	s.next.Phase, s.next.Message = phase, msg
}

// writeStatus patches the status through the main resource (the CRD has
// no status subresource) when it changed, locked on the version read so a
// concurrent `retry` or edit is never overwritten, then emits the pass's
// events.
func (r *Reconciler) writeStatus(ctx context.Context, s *scope) error {
	s.ex.Status = s.next
	if !equality.Semantic.DeepEqual(s.original.Status, s.ex.Status) {
		if err := r.Client.Patch(ctx, s.ex, client.MergeFromWithOptions(s.original, client.MergeFromWithOptimisticLock{})); err != nil {
			return err
		}
		if s.ex.ResourceVersion != s.original.ResourceVersion {
			r.ownWrites.Store(client.ObjectKeyFromObject(s.ex), s.original.ResourceVersion)
		}
	}
	for _, e := range s.events {
		typ := corev1.EventTypeNormal
		if e.warning {
			typ = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(s.ex, e.related, typ, e.reason, "Reconcile", "%s", e.note)
		if ro := owningRollout(s.ex); ro != nil && e.toRollout {
			r.Recorder.Eventf(ro, e.related, corev1.EventTypeWarning, e.reason, "Reconcile", "%s", e.note)
		}
	}
	return nil
}

// owningRollout is the Rollout controlling ex (its canary step runs it),
// as a reference for events, or nil.
func owningRollout(ex *v1alpha1.Experiment) *v1alpha1.Rollout {
	ref := metav1.GetControllerOf(ex)
	if ref == nil || ref.Kind != "Rollout" || ref.APIVersion != v1alpha1.GroupVersion.String() {
		return nil
	}
	return &v1alpha1.Rollout{
		TypeMeta:   metav1.TypeMeta{APIVersion: ref.APIVersion, Kind: ref.Kind},
		ObjectMeta: metav1.ObjectMeta{Namespace: ex.Namespace, Name: ref.Name, UID: ref.UID},
	}
}

// replaceSetFor is the template's ReplicaSet, or nil.
func (s *scope) replaceSetFor(t *v1alpha1.TemplateSpec) *appsv1.ReplicaSet {
	return s.replicaSets[t.Name]
}

// runRef names a run for an event; nil before the run exists.
func runRef(namespace, name string) *v1alpha1.AnalysisRun {
	if name == "" {
		return nil
	}
	return &v1alpha1.AnalysisRun{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "AnalysisRun"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
	}
}

func setTemplateStatus(st *v1alpha1.ExperimentStatus, ts v1alpha1.TemplateStatus) {
	if cur := TemplateStatus(st, ts.Name); cur != nil {
		*cur = ts
		return
	}
	st.TemplateStatuses = append(st.TemplateStatuses, ts)
}

func setRunStatus(st *v1alpha1.ExperimentStatus, rs v1alpha1.ExperimentAnalysisRunStatus) {
	if cur := RunStatus(st, rs.Name); cur != nil {
		*cur = rs
		return
	}
	st.AnalysisRuns = append(st.AnalysisRuns, rs)
}

// permanent reports whether an API error would be the same on a retry
// (the object is refused as written, or not allowed).
func permanent(err error) bool {
	return err != nil && (apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsForbidden(err) || apierrors.IsAlreadyExists(err))
}
