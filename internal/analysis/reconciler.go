// Package analysis is the AnalysisRun controller and the analysis
// building blocks the Rollout controller uses: building a run from
// templates (BuildRun), validating templates (ValidateTemplateSpec) and
// evaluating conditions (EvaluateConditions).
//
// A pass reads the run, resolves its args, validates it, asks the pure
// planners which metrics need a measurement now, measures through the
// providers (internal/analysis/providers/...), judges the results, and
// writes the status once. It requeues itself for the next measurement.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis/provider"
	"github.com/switchyard-dev/switchyard/internal/metrics"
	"github.com/switchyard-dev/switchyard/internal/requeue"
)

// DefaultThreads is how many AnalysisRuns are reconciled at once, as the
// reference's --analysis-threads.
const DefaultThreads = 30

// Reconciler drives AnalysisRuns.
type Reconciler struct {
	Client client.Client
	// APIReader reads Secrets live, only when a measurement needs them;
	// Secrets are never cached.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	// Providers by type name (provider.Prometheus, ...).
	Providers map[string]provider.Provider
	// MaxConcurrentReconciles is the number of runs reconciled at once.
	MaxConcurrentReconciles int
	// Metrics times each pass and counts its errors (nil: none).
	Metrics *metrics.Metrics
}

// +kubebuilder:rbac:groups=argoproj.io,resources=analysisruns,verbs=get;list;watch;update;patch;delete
// +kubebuilder:rbac:groups=argoproj.io,resources=analysistemplates;clusteranalysistemplates,verbs=get;list;watch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// scope is the state of one pass.
type scope struct {
	run      *v1alpha1.AnalysisRun
	original *v1alpha1.AnalysisRun
	now      time.Time

	args argValues
	// metrics have their args substituted, secrets as placeholders; rules
	// are their effective settings, dryRun marks dry-run metrics.
	metrics []v1alpha1.Metric
	rules   []rules
	dryRun  []bool
	// secrets are the secret values read this pass, for redaction.
	secrets []string

	// events are emitted once the status that reports them is written.
	events []event
	// stop ends the pass after the current phase.
	stop bool
}

type event struct {
	warning      bool
	reason, note string
}

// Reconcile runs one pass over a run.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	run := &v1alpha1.AnalysisRun{}
	if err := r.Client.Get(ctx, req.NamespacedName, run); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !run.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx).WithValues("analysisRun", klog.KObj(run))
	ctx = ctrl.LoggerInto(ctx, log)
	s := &scope{run: run, original: run.DeepCopy(), now: r.Clock.Now()}

	if run.Status.Phase.Completed() {
		return r.expire(ctx, s)
	}
	defer func() {
		if err := r.writeStatus(ctx, s); err != nil {
			if apierrors.IsConflict(err) {
				result, retErr = ctrl.Result{RequeueAfter: 100 * time.Millisecond}, nil
				return
			}
			retErr = errors.Join(retErr, fmt.Errorf("write status of analysisrun %s: %w", klog.KObj(run), err))
		}
		if retErr != nil {
			// Errors are logged by controller-runtime: no secret in them.
			retErr = errors.New(s.redact(retErr.Error()))
		}
	}()

	phases := []struct {
		name string
		run  func(context.Context, *scope) (ctrl.Result, error)
	}{
		{"resolve and validate", r.prepare},
		{"measure", r.measure},
		{"trim measurements", r.trimMeasurements},
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
	if s.run.Status.Phase.Completed() {
		return requeue.Sooner(result, requeue.At(ttlExpiry(s.run), s.now)), nil
	}
	return requeue.Sooner(result, requeue.At(r.nextDue(s), s.now)), nil
}

// SetupWithManager registers the reconciler; Jobs a run owns bring it back
// when they finish.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("AnalysisRuns").
		For(&v1alpha1.AnalysisRun{}).
		Owns(&batchv1.Job{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)}).
		Complete(r.Metrics.Observe(metrics.AnalysisRun, r))
}

// expire deletes a completed run whose TTL has passed, and otherwise
// comes back when it will have.
func (r *Reconciler) expire(ctx context.Context, s *scope) (ctrl.Result, error) {
	at := ttlExpiry(s.run)
	if at.IsZero() {
		return ctrl.Result{}, nil
	}
	if s.now.Before(at) {
		return requeue.At(at, s.now), nil
	}
	ctrl.LoggerFrom(ctx).V(1).Info("deleting completed AnalysisRun after its TTL")
	if err := r.Client.Delete(ctx, s.run, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(fmt.Errorf("delete expired analysisrun %s: %w", klog.KObj(s.run), err))
	}
	return ctrl.Result{}, nil
}

// prepare starts the run, resolves its args and validates the result. A
// problem retrying cannot fix ends the run in Error.
func (r *Reconciler) prepare(_ context.Context, s *scope) (ctrl.Result, error) {
	st := &s.run.Status
	if st.Phase == "" {
		st.Phase = v1alpha1.AnalysisPhaseRunning
	}
	if st.StartedAt == nil {
		st.StartedAt = &metav1.Time{Time: s.now}
	}
	var err error
	if s.args, err = resolveRunArgs(s.run); err != nil {
		s.fail("Unable to resolve metric arguments: " + err.Error())
		return ctrl.Result{}, nil
	}
	s.metrics = make([]v1alpha1.Metric, len(s.run.Spec.Metrics))
	for i, m := range s.run.Spec.Metrics {
		if s.metrics[i], err = substitute(m, s.args.values); err != nil {
			s.fail("Unable to resolve metric arguments: " + err.Error())
			return ctrl.Result{}, nil
		}
	}
	if errs := ValidateRunSpec(s.metrics, s.run.Spec.DryRun, s.run.Spec.MeasurementRetention, nil); len(errs) > 0 {
		s.fail(specMessage(errs))
		return ctrl.Result{}, nil
	}
	s.rules = make([]rules, len(s.metrics))
	s.dryRun = make([]bool, len(s.metrics))
	for i := range s.metrics {
		s.rules[i], _ = rulesOf(&s.metrics[i]) // validated above
		s.dryRun[i] = matchesAny(s.run.Spec.DryRun, s.metrics[i].Name)
	}
	return ctrl.Result{}, nil
}

// fail ends the run in Error with msg.
func (s *scope) fail(msg string) {
	s.run.Status.Phase = v1alpha1.AnalysisPhaseError
	s.run.Status.Message = msg
	s.run.Status.CompletedAt = &metav1.Time{Time: s.now}
	s.events = append(s.events, runEvent(v1alpha1.AnalysisPhaseError))
	s.stop = true
}

func runEvent(phase v1alpha1.AnalysisPhase) event {
	return event{
		warning: phase == v1alpha1.AnalysisPhaseFailed || phase == v1alpha1.AnalysisPhaseError,
		reason:  "AnalysisRun" + string(phase),
		note:    fmt.Sprintf("Analysis Completed. Result: %s", phase),
	}
}

func matchesAny[T interface {
	v1alpha1.DryRun | v1alpha1.MeasurementRetention
}](rules []T, name string) bool {
	for _, r := range rules {
		var pattern string
		switch r := any(r).(type) {
		case v1alpha1.DryRun:
			pattern = r.MetricName
		case v1alpha1.MeasurementRetention:
			pattern = r.MetricName
		}
		if re, err := regexp.Compile(pattern); err == nil && re.MatchString(name) {
			return true
		}
	}
	return false
}

// task is one measurement this pass takes, continues or stops.
type task struct {
	metric int
	kind   taskKind
}

// measure takes the measurements that are due and judges the metrics and
// the run. When a result makes the run terminate, a second round stops
// what is still in flight, so the run ends in this pass.
func (r *Reconciler) measure(ctx context.Context, s *scope) (ctrl.Result, error) {
	for range 2 {
		terminating := s.terminating()
		var tasks []task
		for i := range s.metrics {
			kind, _ := due(s.rules[i], s.result(i), s.run.Status.StartedAt, s.now, terminating)
			if kind != 0 {
				tasks = append(tasks, task{metric: i, kind: kind})
			}
		}
		if len(tasks) > 0 {
			metrics, err := r.withSecrets(ctx, s)
			if err != nil {
				if isArgProblem(err) {
					s.fail("Unable to resolve metric arguments: " + err.Error())
					return ctrl.Result{}, nil
				}
				return ctrl.Result{}, err
			}
			r.runTasks(ctx, s, metrics, tasks)
		}
		s.assess(terminating)
		if terminating || !s.terminating() {
			break
		}
	}
	return ctrl.Result{}, nil
}

// terminating: the user asked, or a non-dry-run metric has gone bad.
func (s *scope) terminating() bool {
	if s.run.Spec.Terminate {
		return true
	}
	for i := range s.metrics {
		if s.dryRun[i] {
			continue
		}
		if res := s.result(i); res != nil {
			switch res.Phase {
			case v1alpha1.AnalysisPhaseFailed, v1alpha1.AnalysisPhaseError, v1alpha1.AnalysisPhaseInconclusive:
				return true
			}
		}
	}
	return false
}

// result is metric i's result, or nil before its first measurement.
func (s *scope) result(i int) *v1alpha1.MetricResult {
	name := s.metrics[i].Name
	for j := range s.run.Status.MetricResults {
		if s.run.Status.MetricResults[j].Name == name {
			return &s.run.Status.MetricResults[j]
		}
	}
	return nil
}

// argProblem is an arg that cannot be resolved: the run ends in Error.
type argProblem struct{ err error }

func (e *argProblem) Error() string { return e.err.Error() }
func (e *argProblem) Unwrap() error { return e.err }

func isArgProblem(err error) bool {
	var p *argProblem
	return errors.As(err, &p)
}

// withSecrets returns the metrics with secret args read from their
// Secrets (in the run's namespace), and records the values for redaction.
func (r *Reconciler) withSecrets(ctx context.Context, s *scope) ([]v1alpha1.Metric, error) {
	if len(s.args.secretRefs) == 0 {
		return s.metrics, nil
	}
	values := make(map[string]string, len(s.args.values))
	for k, v := range s.args.values {
		values[k] = v
	}
	for name, ref := range s.args.secretRefs {
		secret := &corev1.Secret{}
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: s.run.Namespace, Name: ref.Name}, secret); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, &argProblem{fmt.Errorf("secret '%s' (argument %q) not found in namespace %s", ref.Name, name, s.run.Namespace)}
			}
			return nil, fmt.Errorf("get secret %s/%s: %w", s.run.Namespace, ref.Name, err)
		}
		v, ok := secret.Data[ref.Key]
		if !ok {
			return nil, &argProblem{fmt.Errorf("key '%s' does not exist in secret '%s'", ref.Key, ref.Name)}
		}
		values[name] = string(v)
		s.addSecret(string(v))
	}
	out := make([]v1alpha1.Metric, len(s.run.Spec.Metrics))
	for i, m := range s.run.Spec.Metrics {
		var err error
		if out[i], err = substitute(m, values); err != nil {
			return nil, &argProblem{err}
		}
	}
	return out, nil
}

// runTasks measures in parallel and folds the results into the status.
func (r *Reconciler) runTasks(ctx context.Context, s *scope, metrics []v1alpha1.Metric, tasks []task) {
	results := make([]v1alpha1.Measurement, len(tasks))
	metadata := make([]map[string]string, len(tasks))
	var wg sync.WaitGroup
	for n, t := range tasks {
		wg.Go(func() {
			results[n], metadata[n] = r.runTask(ctx, s, &metrics[t.metric], t)
		})
	}
	wg.Wait()
	for n, t := range tasks {
		res := s.result(t.metric)
		if res == nil {
			s.run.Status.MetricResults = append(s.run.Status.MetricResults, v1alpha1.MetricResult{
				Name: s.metrics[t.metric].Name, Phase: v1alpha1.AnalysisPhaseRunning, DryRun: s.dryRun[t.metric],
			})
			res = &s.run.Status.MetricResults[len(s.run.Status.MetricResults)-1]
		}
		record(res, results[n], t.kind != taskStart)
		for k, v := range metadata[n] {
			if res.Metadata == nil {
				res.Metadata = map[string]string{}
			}
			res.Metadata[k] = v
		}
	}
}

// runTask asks the metric's provider and turns its answer into a
// measurement. A provider error is an Error measurement.
func (r *Reconciler) runTask(ctx context.Context, s *scope, m *v1alpha1.Metric, t task) (v1alpha1.Measurement, map[string]string) {
	types := provider.TypeOf(&m.Provider)
	res := s.result(t.metric)
	req := provider.Request{Run: s.run, Metric: m, Index: 1, Now: s.now}
	meas := v1alpha1.Measurement{StartedAt: &metav1.Time{Time: s.now}}
	if res != nil {
		req.Index = res.Count + res.Error + 1
		if t.kind != taskStart {
			inFlight := res.Measurements[len(res.Measurements)-1].DeepCopy()
			req.InFlight = inFlight
			meas.StartedAt = inFlight.StartedAt
		}
	}
	p, ok := r.Providers[types[0]]
	var out provider.Result
	var err error
	switch {
	case !ok:
		err = fmt.Errorf("provider %s is not available", types[0])
	case t.kind == taskTerminate:
		out, err = p.Terminate(ctx, req)
	default:
		out, err = p.Measure(ctx, req)
	}
	finished := &metav1.Time{Time: r.Clock.Now()}
	meas.Value, meas.Metadata = out.Text, out.Metadata
	switch {
	case err != nil:
		meas.Phase, meas.Message, meas.FinishedAt = v1alpha1.AnalysisPhaseError, err.Error(), finished
	case !out.ResumeAt.IsZero():
		meas.Phase, meas.Message, meas.ResumeAt = v1alpha1.AnalysisPhaseRunning, out.Message, &metav1.Time{Time: out.ResumeAt}
	case out.Phase != "":
		meas.Phase, meas.Message, meas.FinishedAt = out.Phase, out.Message, finished
	default:
		meas.Phase, err = EvaluateConditions(out.Value, m.SuccessCondition, m.FailureCondition)
		if err != nil {
			meas.Message = err.Error()
		}
		meas.FinishedAt = finished
	}
	if t.kind == taskTerminate && (meas.Phase == v1alpha1.AnalysisPhaseSuccessful || meas.Phase == v1alpha1.AnalysisPhaseInconclusive) {
		meas.Message = "Metric Terminated"
	}
	return meas, out.MetricMetadata
}

// assess judges each metric and the run, noting the events of what
// completed.
func (s *scope) assess(terminating bool) {
	states := make([]metricState, len(s.metrics))
	for i := range s.metrics {
		st := metricState{name: s.metrics[i].Name, dryRun: s.dryRun[i]}
		if res := s.result(i); res != nil {
			v := assessMetric(s.rules[i], res, terminating)
			if v.phase != res.Phase && v.phase.Completed() {
				s.events = append(s.events, event{
					warning: v.phase == v1alpha1.AnalysisPhaseFailed || v.phase == v1alpha1.AnalysisPhaseError,
					reason:  "Metric" + string(v.phase),
					note:    fmt.Sprintf("Metric '%s' Completed. Result: %s", res.Name, v.phase),
				})
				if res.DryRun {
					res.Message = dryRunMessage(v.phase, v.why)
				}
			}
			res.Phase = v.phase
			st.phase, st.why, st.message = v.phase, v.why, res.Message
		} else if terminating {
			// Never measured: nothing can fail any more.
			st.phase = v1alpha1.AnalysisPhaseSuccessful
		}
		states[i] = st
	}
	v := assessRun(states, terminating, s.run.Spec.Terminate)
	st := &s.run.Status
	st.RunSummary = v.summary
	st.DryRunSummary = &v.dryRunSummary
	st.Message = v.message
	if v.phase.Completed() && !st.Phase.Completed() {
		st.CompletedAt = &metav1.Time{Time: s.now}
		s.events = append(s.events, runEvent(v.phase))
	}
	st.Phase = v.phase
}

// trimMeasurements keeps each metric's newest measurements (10, or its
// retention rule's limit), letting the provider clean up first.
func (r *Reconciler) trimMeasurements(ctx context.Context, s *scope) (ctrl.Result, error) {
	for i := range s.metrics {
		res := s.result(i)
		if res == nil {
			continue
		}
		keep := retentionLimit(s.run.Spec.MeasurementRetention, res.Name)
		if len(res.Measurements) <= keep {
			continue
		}
		types := provider.TypeOf(&s.metrics[i].Provider)
		if p, ok := r.Providers[types[0]]; ok {
			if err := p.GarbageCollect(ctx, s.run, res.Name, keep); err != nil {
				// What is left behind goes with the run (owner references).
				ctrl.LoggerFrom(ctx).Error(errors.New(s.redact(err.Error())), "clean up old measurements", "metric", res.Name)
			}
		}
		trim(res, keep)
	}
	return ctrl.Result{}, nil
}

func retentionLimit(rules []v1alpha1.MeasurementRetention, metric string) int {
	for _, r := range rules {
		if matchesAny([]v1alpha1.MeasurementRetention{r}, metric) && r.Limit > 0 {
			return int(r.Limit)
		}
	}
	return DefaultMeasurementRetention
}

// nextDue is the earliest time a metric needs the run again.
func (r *Reconciler) nextDue(s *scope) time.Time {
	if s.rules == nil {
		return time.Time{}
	}
	terminating := s.terminating()
	var next time.Time
	for i := range s.metrics {
		kind, at := due(s.rules[i], s.result(i), s.run.Status.StartedAt, s.now, terminating)
		if kind != 0 {
			at = s.now
		}
		next = earliest(next, at)
	}
	return next
}

// addSecret remembers a secret value, and the forms it takes once quoted
// into JSON or a URL, for redaction.
func (s *scope) addSecret(v string) {
	if v == "" {
		return
	}
	for _, form := range []string{v, string(jsonEscape(v)), url.QueryEscape(v), url.PathEscape(v)} {
		if !slices.Contains(s.secrets, form) {
			s.secrets = append(s.secrets, form)
		}
	}
	// Longest first, so a form containing another is replaced whole.
	slices.SortFunc(s.secrets, func(a, b string) int { return len(b) - len(a) })
}

// redact replaces every secret value read this pass by a placeholder.
func (s *scope) redact(text string) string {
	for _, v := range s.secrets {
		text = strings.ReplaceAll(text, v, secretPlaceholder)
	}
	return text
}

// redactStatus removes secret values from everything the status carries.
func (s *scope) redactStatus() {
	if len(s.secrets) == 0 {
		return
	}
	st := &s.run.Status
	st.Message = s.redact(st.Message)
	redactMap := func(m map[string]string) {
		for k, v := range m {
			m[k] = s.redact(v)
		}
	}
	for i := range st.MetricResults {
		res := &st.MetricResults[i]
		res.Message = s.redact(res.Message)
		redactMap(res.Metadata)
		for j := range res.Measurements {
			m := &res.Measurements[j]
			m.Message, m.Value = s.redact(m.Message), s.redact(m.Value)
			redactMap(m.Metadata)
		}
	}
}

// writeStatus patches the status (through the main resource: the CRD has
// no status subresource) when it changed, then emits the pass's events.
func (r *Reconciler) writeStatus(ctx context.Context, s *scope) error {
	s.redactStatus()
	if !equality.Semantic.DeepEqual(s.original.Status, s.run.Status) {
		// Only status differs, so the merge patch carries only status; the
		// lock keeps a pass that read a stale run from overwriting newer
		// measurements.
		if err := r.Client.Patch(ctx, s.run, client.MergeFromWithOptions(s.original, client.MergeFromWithOptimisticLock{})); err != nil {
			return err
		}
	}
	for _, e := range s.events {
		typ := corev1.EventTypeNormal
		if e.warning {
			typ = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(s.run, nil, typ, e.reason, "Analyze", "%s", s.redact(e.note))
	}
	return nil
}
