package get

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/plugin/cli"
	"github.com/switchyard-dev/switchyard/internal/plugin/view"
)

// ageRefresh is how often the view is re-rendered from the caches when
// nothing changed, so ages and scale-down delays keep counting. It reads
// no API: the informers already hold the objects.
const ageRefresh = time.Second

// watch keeps informers on the Rollout, its ReplicaSets and its pods and
// redraws whenever the rendered text changes.
func (o *Options) watch(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	timedOut := func() bool { return false }
	if o.TimeoutSeconds > 0 {
		var tcancel context.CancelFunc
		ctx, tcancel = context.WithTimeout(ctx, time.Duration(o.TimeoutSeconds)*time.Second)
		defer tcancel()
		timedOut = func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil }
	}
	ctx = cli.QuietOnceDone(ctx)

	// Fail fast on a missing rollout or permission, and learn the selector.
	ro, err := o.rollouts.Get(ctx, o.name)
	if err != nil {
		return err
	}
	opts, err := listOptions(ro)
	if err != nil {
		return err
	}

	changed := make(chan struct{}, 1)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default: // a redraw is already pending
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify() },
		UpdateFunc: func(any, any) { notify() },
		DeleteFunc: func(any) { notify() },
	}

	roInformer := cache.NewSharedIndexInformer(o.rollouts.ListWatch(o.name), &unstructured.Unstructured{}, 0, cache.Indexers{})
	factory := informers.NewSharedInformerFactoryWithOptions(o.kube, 0,
		informers.WithNamespace(o.ns),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = opts.LabelSelector }))
	rsInformer := factory.Apps().V1().ReplicaSets().Informer()
	podInformer := factory.Core().V1().Pods().Informer()
	all := []cache.SharedIndexInformer{roInformer, rsInformer, podInformer}
	// With experiment steps (or Experiments left from them), the runs of
	// the namespace are watched: an Experiment's runs carry no label of
	// the Rollout.
	exInformer, err := o.experimentInformer(ctx)
	if err != nil {
		return err
	}
	withExperiments := false
	if exInformer != nil {
		all = append(all, exInformer)
		owned, err := o.loadExperiments(ctx, ro)
		if err != nil {
			return err
		}
		withExperiments = len(owned) > 0 || hasExperimentSteps(ro)
	}
	runOpts, err := runsSelector(ro, withExperiments)
	if err != nil {
		return err
	}
	runInformer, jobInformer, err := o.analysisInformers(ctx, runOpts.LabelSelector)
	if err != nil {
		return err
	}
	if runInformer != nil {
		all = append(all, runInformer, jobInformer)
	}
	for _, inf := range all {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return fmt.Errorf("watch rollout %s: %w", o.name, err)
		}
	}
	go roInformer.RunWithContext(ctx)
	if exInformer != nil {
		go exInformer.RunWithContext(ctx)
	}
	if runInformer != nil {
		go runInformer.RunWithContext(ctx)
		go jobInformer.RunWithContext(ctx)
	}
	factory.StartWithContext(ctx)
	// Shutdown waits for the informers, which stop when ctx ends: cancel first.
	defer func() {
		cancel()
		factory.Shutdown()
	}()
	synced := make([]cache.InformerSynced, 0, len(all))
	for _, inf := range all {
		synced = append(synced, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		switch {
		case !timedOut():
			return ctx.Err()
		case o.UntilSettled:
			return o.timeout()
		}
		// --timeout-seconds ran out before the watch's first picture (a
		// slow API server, many pods): show the Rollout once, as a watch
		// that long would have, and end quietly.
		return o.printOnce(parent)
	}

	screen := newScreen(o.Out)
	ticker := o.Clock.NewTicker(ageRefresh)
	defer ticker.Stop()
	for {
		ro, err := o.cachedRollout(roInformer.GetStore())
		if err != nil {
			return err
		}
		rel := view.Related{ReplicaSets: cli.Cached[appsv1.ReplicaSet](rsInformer.GetStore()), Pods: cli.Cached[corev1.Pod](podInformer.GetStore())}
		if runInformer != nil {
			var errs []error
			if rel.AnalysisRuns, errs = cli.CachedDecoded[v1alpha1.AnalysisRun](runInformer.GetStore()); len(errs) > 0 {
				return errs[0]
			}
			rel.Jobs = cli.Cached[batchv1.Job](jobInformer.GetStore())
		}
		if exInformer != nil {
			var errs []error
			if rel.Experiments, errs = cli.CachedDecoded[v1alpha1.Experiment](exInformer.GetStore()); len(errs) > 0 {
				return errs[0]
			}
		}
		v := view.NewRolloutFrom(ro, rel)
		if err := screen.draw(o.printer().Render(v)); err != nil {
			return err
		}
		if o.UntilSettled {
			switch v.Phase {
			case v1alpha1.RolloutPhaseHealthy, v1alpha1.RolloutPhasePaused:
				return nil
			case v1alpha1.RolloutPhaseDegraded:
				return fmt.Errorf("rollout '%s' is Degraded: %s", o.name, v.Message)
			}
		}
		select {
		case <-changed:
		case <-ticker.C():
		case <-ctx.Done():
			if timedOut() && o.UntilSettled {
				return o.timeout()
			}
			if parent.Err() != nil {
				return parent.Err()
			}
			// --timeout-seconds without --until-settled ends the watch
			// quietly, as in Argo's plugin.
			return nil
		}
	}
}

func (o *Options) timeout() error {
	return fmt.Errorf("timed out after %ds waiting for rollout '%s'", o.TimeoutSeconds, o.name)
}

func (o *Options) cachedRollout(store cache.Store) (*v1alpha1.Rollout, error) {
	obj, ok, err := store.GetByKey(o.ns + "/" + o.name)
	if err != nil {
		return nil, fmt.Errorf("read rollout %s from cache: %w", o.name, err)
	}
	if !ok {
		return nil, fmt.Errorf("rollout '%s' was deleted", o.name)
	}
	return cli.FromUnstructured(obj.(*unstructured.Unstructured))
}

// analysisInformers watch the Rollout's AnalysisRuns (by its selector's
// labels) and the analysis Jobs of the namespace; both nil when the
// cluster has no AnalysisRun CRD.
func (o *Options) analysisInformers(ctx context.Context, selector string) (runs, jobs cache.SharedIndexInformer, err error) {
	dyn, err := o.Dynamic()
	if err != nil {
		return nil, nil, err
	}
	res := dyn.Resource(AnalysisRunGVR).Namespace(o.ns)
	if _, err := res.List(ctx, metav1.ListOptions{LabelSelector: selector, Limit: 1}); apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	runsLW := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
			lo.LabelSelector = selector
			return res.List(ctx, lo)
		},
		WatchFuncWithContext: func(ctx context.Context, lo metav1.ListOptions) (watch.Interface, error) {
			lo.LabelSelector = selector
			return res.Watch(ctx, lo)
		},
	}
	runs = cache.NewSharedIndexInformer(runsLW, &unstructured.Unstructured{}, 0, cache.Indexers{})
	jobsFactory := informers.NewSharedInformerFactoryWithOptions(o.kube, 0, informers.WithNamespace(o.ns),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = analysisJobLabel }))
	return runs, jobsFactory.Batch().V1().Jobs().Informer(), nil
}

// experimentInformer watches the namespace's Experiments (the view keeps
// the Rollout's); nil when the cluster has no Experiment CRD.
func (o *Options) experimentInformer(ctx context.Context) (cache.SharedIndexInformer, error) {
	dyn, err := o.Dynamic()
	if err != nil {
		return nil, err
	}
	res := dyn.Resource(cli.ExperimentGVR).Namespace(o.ns)
	if _, err := res.List(ctx, metav1.ListOptions{Limit: 1}); apierrors.IsNotFound(err) {
		return nil, nil
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, lo metav1.ListOptions) (runtime.Object, error) {
			return res.List(ctx, lo)
		},
		WatchFuncWithContext: func(ctx context.Context, lo metav1.ListOptions) (watch.Interface, error) {
			return res.Watch(ctx, lo)
		},
	}
	return cache.NewSharedIndexInformer(lw, &unstructured.Unstructured{}, 0, cache.Indexers{}), nil
}

// hasExperimentSteps: the canary has an experiment step.
func hasExperimentSteps(ro *v1alpha1.Rollout) bool {
	if c := ro.Spec.Strategy.Canary; c != nil {
		for _, step := range c.Steps {
			if step.Experiment != nil {
				return true
			}
		}
	}
	return false
}

// screen redraws a frame only when its text changed. On a terminal it
// moves the cursor home and overwrites the previous frame line by line,
// clearing each line's rest and whatever is below: no blank screen between
// frames, so no flicker. Elsewhere (a pipe, a CI log) frames are appended,
// separated by a blank line, with no escape codes.
type screen struct {
	out      io.Writer
	terminal bool
	last     string
	frames   int
}

func newScreen(out io.Writer) *screen {
	s := &screen{out: out}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		s.terminal = true
	}
	return s
}

func (s *screen) draw(text string) error {
	if text == s.last {
		return nil
	}
	s.last = text
	var b strings.Builder
	switch {
	case s.terminal:
		if s.frames == 0 {
			b.WriteString("\x1b[2J") // start from a blank screen once
		}
		b.WriteString("\x1b[H")
		b.WriteString(strings.ReplaceAll(text, "\n", "\x1b[K\n"))
		b.WriteString("\x1b[J")
	case s.frames > 0:
		b.WriteString("\n")
		b.WriteString(text)
	default:
		b.WriteString(text)
	}
	s.frames++
	_, err := io.WriteString(s.out, b.String())
	return err
}
