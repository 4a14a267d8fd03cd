// Package job is the Job metric provider: each measurement runs a
// Kubernetes Job, Successful when the Job completes and Failed when it
// fails. The metric's conditions are not used.
package job

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis/provider"
)

// Labels and annotations on the Jobs a run creates (the reference's keys).
const (
	// RunUIDLabel is on the Job and its pods.
	RunUIDLabel = "analysisrun.argoproj.io/uid"
	// RunNameAnnotation, RunNamespaceAnnotation and MetricNameAnnotation
	// say which run and metric a Job measures.
	RunNameAnnotation      = "analysisrun.argoproj.io/name"
	RunNamespaceAnnotation = "analysisrun.argoproj.io/namespace"
	MetricNameAnnotation   = "analysisrun.argoproj.io/metric-name"

	// Measurement metadata keys.
	JobNameKey      = "job-name"
	JobNamespaceKey = "job-namespace"

	maxNameLength = 63
)

// minResume is the shortest wait before a running Job is looked at again;
// the Job's own events (the controller watches Jobs it owns) usually come
// first.
const minResume = time.Second

// terminalWaitingReasons are container states no amount of waiting fixes.
var terminalWaitingReasons = map[string]bool{
	"ErrImagePull":     true,
	"ImagePullBackOff": true,
	"InvalidImageName": true,
}

// Provider runs Job metrics.
type Provider struct {
	// Client reads Jobs from the cache and creates and deletes them.
	Client client.Client
	// APIReader reads what the cache may not have yet (a Job just created)
	// and pods, which are not cached.
	APIReader client.Reader
}

// New returns the Job provider.
func New(c client.Client, apiReader client.Reader) *Provider {
	return &Provider{Client: c, APIReader: apiReader}
}

// Name is the Job of a run's n-th measurement of metric:
// <run-uid>.<metric>.<n>, the metric shortened to stay within 63 characters.
func Name(runUID, metric string, n int32) string {
	suffix := "." + strconv.Itoa(int(n))
	if over := len(runUID) + 1 + len(metric) + len(suffix) - maxNameLength; over > 0 {
		// A name segment must end alphanumeric.
		metric = strings.TrimRight(metric[:max(len(metric)-over, 0)], "-.")
	}
	return strings.TrimSuffix(runUID+"."+metric, ".") + suffix
}

// Measure creates the Job, or looks at the one in flight.
func (p *Provider) Measure(ctx context.Context, req provider.Request) (provider.Result, error) {
	if req.InFlight == nil {
		return p.start(ctx, req)
	}
	job, err := p.inFlight(ctx, req)
	if err != nil {
		return provider.Result{Metadata: req.InFlight.Metadata}, err
	}
	out := provider.Result{Metadata: req.InFlight.Metadata}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			out.Phase = v1alpha1.AnalysisPhaseSuccessful
			return out, nil
		case batchv1.JobFailed:
			out.Phase, out.Message = v1alpha1.AnalysisPhaseFailed, c.Message
			return out, nil
		}
	}
	if msg, err := p.stuckPod(ctx, job); err != nil {
		return out, err
	} else if msg != "" {
		out.Phase, out.Message = v1alpha1.AnalysisPhaseInconclusive, msg
		return out, nil
	}
	// Back off as the Job runs longer: √(2·elapsed) seconds, at least 1s.
	elapsed := req.Now.Sub(req.InFlight.StartedAt.Time).Seconds()
	wait := max(time.Duration(math.Sqrt(2*max(elapsed, 0))*float64(time.Second)), minResume)
	out.ResumeAt = req.Now.Add(wait)
	return out, nil
}

func (p *Provider) start(ctx context.Context, req provider.Request) (provider.Result, error) {
	m := req.Metric.Provider.Job
	if m == nil {
		return provider.Result{}, errors.New("metric has no job provider")
	}
	run := req.Run
	job := &batchv1.Job{
		ObjectMeta: *m.Metadata.DeepCopy(),
		Spec:       *m.Spec.DeepCopy(),
	}
	job.Name = Name(string(run.UID), req.Metric.Name, req.Index)
	job.Namespace = run.Namespace
	job.GenerateName, job.ResourceVersion, job.UID = "", "", ""
	if job.Labels == nil {
		job.Labels = map[string]string{}
	}
	job.Labels[RunUIDLabel] = string(run.UID)
	if job.Spec.Template.Labels == nil {
		job.Spec.Template.Labels = map[string]string{}
	}
	job.Spec.Template.Labels[RunUIDLabel] = string(run.UID)
	if job.Annotations == nil {
		job.Annotations = map[string]string{}
	}
	job.Annotations[RunNameAnnotation] = run.Name
	job.Annotations[RunNamespaceAnnotation] = run.Namespace
	job.Annotations[MetricNameAnnotation] = req.Metric.Name
	job.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "AnalysisRun", Name: run.Name, UID: run.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}
	meta := map[string]string{JobNameKey: job.Name, JobNamespaceKey: job.Namespace}
	err := p.Client.Create(ctx, job)
	if apierrors.IsAlreadyExists(err) {
		// A pass that read a stale run created it already: adopt it if it
		// is this run's.
		existing := &batchv1.Job{}
		if err := p.APIReader.Get(ctx, client.ObjectKeyFromObject(job), existing); err != nil {
			return provider.Result{Metadata: meta}, fmt.Errorf("get job %s: %w", klog.KObj(job), err)
		}
		if existing.Labels[RunUIDLabel] != string(run.UID) {
			return provider.Result{Metadata: meta}, fmt.Errorf("job %s exists and belongs to another AnalysisRun", klog.KObj(job))
		}
		err = nil
	}
	if err != nil {
		return provider.Result{Metadata: meta}, fmt.Errorf("create job %s: %w", klog.KObj(job), err)
	}
	return provider.Result{Metadata: meta, ResumeAt: req.Now.Add(minResume)}, nil
}

// inFlight reads the measurement's Job, from the cache or else live.
func (p *Provider) inFlight(ctx context.Context, req provider.Request) (*batchv1.Job, error) {
	key := client.ObjectKey{Namespace: req.InFlight.Metadata[JobNamespaceKey], Name: req.InFlight.Metadata[JobNameKey]}
	if key.Name == "" {
		return nil, errors.New("measurement does not name its job")
	}
	job := &batchv1.Job{}
	err := p.Client.Get(ctx, key, job)
	if apierrors.IsNotFound(err) {
		err = p.APIReader.Get(ctx, key, job)
	}
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("job %s no longer exists", key)
	}
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", key, err)
	}
	return job, nil
}

// stuckPod describes a pod of the Job whose container cannot start (a bad
// image), which would otherwise hold the measurement forever.
func (p *Provider) stuckPod(ctx context.Context, job *batchv1.Job) (string, error) {
	var pods corev1.PodList
	if err := p.APIReader.List(ctx, &pods, client.InNamespace(job.Namespace), client.MatchingLabels{batchv1.JobNameLabel: job.Name}); err != nil {
		return "", fmt.Errorf("list pods of job %s: %w", klog.KObj(job), err)
	}
	for _, pod := range pods.Items {
		for _, cs := range append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && terminalWaitingReasons[w.Reason] {
				return fmt.Sprintf("Pod %s, container %s has terminal error (%s): %s", pod.Name, cs.Name, w.Reason, w.Message), nil
			}
		}
	}
	return "", nil
}

// Terminate deletes the Job (and, in the foreground, its pods); the
// measurement ends Inconclusive.
func (p *Provider) Terminate(ctx context.Context, req provider.Request) (provider.Result, error) {
	out := provider.Result{Metadata: req.InFlight.Metadata, Phase: v1alpha1.AnalysisPhaseInconclusive}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: req.InFlight.Metadata[JobNamespaceKey], Name: req.InFlight.Metadata[JobNameKey]}}
	if job.Name == "" {
		return out, nil
	}
	if err := p.Client.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationForeground)); client.IgnoreNotFound(err) != nil {
		return out, fmt.Errorf("delete job %s: %w", klog.KObj(job), err)
	}
	return out, nil
}

// GarbageCollect deletes the run's Jobs for metric beyond the newest keep.
func (p *Provider) GarbageCollect(ctx context.Context, run *v1alpha1.AnalysisRun, metric string, keep int) error {
	var jobs batchv1.JobList
	if err := p.Client.List(ctx, &jobs, client.InNamespace(run.Namespace), client.MatchingLabels{RunUIDLabel: string(run.UID)}); err != nil {
		return fmt.Errorf("list jobs of analysisrun %s: %w", klog.KObj(run), err)
	}
	var mine []batchv1.Job
	for _, j := range jobs.Items {
		if j.Annotations[MetricNameAnnotation] == metric && j.DeletionTimestamp.IsZero() {
			mine = append(mine, j)
		}
	}
	if len(mine) <= keep {
		return nil
	}
	sort.Slice(mine, func(a, b int) bool { return index(mine[a].Name) < index(mine[b].Name) })
	var errs []error
	for i := range mine[:len(mine)-keep] {
		if err := p.Client.Delete(ctx, &mine[i], client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("delete job %s: %w", klog.KObj(&mine[i]), err))
		}
	}
	return errors.Join(errs...)
}

// index is the measurement number at the end of a Job's name.
func index(name string) int {
	n, _ := strconv.Atoi(name[strings.LastIndex(name, ".")+1:])
	return n
}
