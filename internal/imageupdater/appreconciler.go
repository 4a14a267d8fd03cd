package imageupdater

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	aiuv1 "github.com/switchyard-dev/switchyard/api/argocdimageupdater/v1alpha1"
	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/argocd"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/redact"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/webhook"
)

// DefaultAppInterval is argocd-image-updater's --interval default: how
// long after a check an ImageUpdater of its API is checked again.
const DefaultAppInterval = 2 * time.Minute

// EventImagesUpdated is the reason of the event on an Application whose
// images were written back (argocd-image-updater's).
const EventImagesUpdated = "ImagesUpdated"

// AppReconciler reconciles argocd-image-updater.argoproj.io ImageUpdaters
// with the engine of Reconciler: it selects the Applications of the
// ImageUpdater's namespace, translates the ImageUpdater's images (or the
// Applications' annotations) into one unit per Application, and polls and
// writes back each unit.
type AppReconciler struct {
	*Reconciler
	// Interval between checks of an ImageUpdater. Default 2m.
	Interval time.Duration
	// Webhook, when set, is this kind's queue of pushes (the embedded
	// Reconciler's is images.switchyard.dev's): an ImageUpdater tracking a
	// pushed image is checked at once, polling the pushed images whether
	// their interval has passed or not (see WebhookTracker and fullCheck).
	Webhook *webhook.Queue
}

// +kubebuilder:rbac:groups=argocd-image-updater.argoproj.io,resources=imageupdaters,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=argocd-image-updater.argoproj.io,resources=imageupdaters/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=argoproj.io,resources=applications,verbs=get;list;patch

// SetupWithManager registers the controller; r.Reconciler must be set up
// (or at least have its Client) already.
func (r *AppReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Reconciler == nil {
		r.Reconciler = &Reconciler{Client: mgr.GetClient()}
	}
	if err := r.defaultsFrom(mgr, aiuv1.GroupVersion, aiuv1.AddToScheme); err != nil {
		return err
	}
	if r.Interval == 0 {
		r.Interval = DefaultAppInterval
	}
	r.init()
	b := ctrl.NewControllerManagedBy(mgr).
		For(&aiuv1.ImageUpdater{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("argocd-image-updater").
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.MaxConcurrentReconciles, 1)})
	if r.Webhook != nil {
		if err := r.setupWebhook(context.Background(), mgr); err != nil {
			return err
		}
		b = b.WatchesRawSource(r.Webhook.Source())
	}
	return b.Complete(r)
}

// appCheck is the state of one check of one ImageUpdater.
type appCheck struct {
	cr       *aiuv1.ImageUpdater
	now      metav1.Time
	redactor *redact.Redactor
	// full: every image is polled; otherwise only the pushed ones (and
	// those never checked), see fullCheck.
	full bool
	// apps are the matched Applications, by name.
	apps []appState
}

// appState is one matched Application in a check.
type appState struct {
	name string
	obj  *unstructured.Unstructured
	// reason and message: the Application cannot be updated at all.
	reason, message string
	unit            *unit
	// images are the status entries of every configured image, including
	// the ones not polled (invalid, not live).
	images []aiuv1.ImageStatus
	// polled[i] is the index in images of unit.plan.images[i].
	polled []int
	// previous[i] is the last recorded status of unit.plan.images[i],
	// kept when it is not polled in this check; due[i] says it is.
	previous []aiuv1.ImageStatus
	due      []bool
	// invalid counts the images whose settings cannot be used.
	invalid int
}

// Reconcile checks every Application the ImageUpdater selects. Status is
// written once, at the end.
func (r *AppReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	r.init()
	cr := &aiuv1.ImageUpdater{}
	if err := r.Client.Get(ctx, req.NamespacedName, cr); err != nil {
		if apierrors.IsNotFound(err) {
			forgetAppMetrics(req.Namespace, req.Name)
			r.Webhook.Take(req.NamespacedName) // drop pushes nobody will poll
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get ImageUpdater %s: %w", req.NamespacedName, err)
	}
	if !cr.DeletionTimestamp.IsZero() {
		forgetAppMetrics(req.Namespace, req.Name)
		// The reference's controller adds a finalizer; release objects it
		// left behind.
		orig := cr.DeepCopy()
		if controllerutil.RemoveFinalizer(cr, aiuv1.Finalizer) {
			if err := r.Client.Patch(ctx, cr, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil && !apierrors.IsNotFound(err) {
				return ctrl.Result{}, fmt.Errorf("remove finalizer of ImageUpdater %s: %w", klog.KObj(cr), err)
			}
		}
		return ctrl.Result{}, nil
	}

	before := cr.DeepCopy()
	c := &appCheck{cr: cr, now: metav1.NewTime(r.Clock.Now()), redactor: redact.New()}
	pushed := r.Webhook.Take(req.NamespacedName)
	c.full = fullCheck(cr.Status, cr.Generation, c.now.Time, r.Interval, pushed)
	defer func() {
		if equality.Semantic.DeepEqual(before.Status, cr.Status) {
			return
		}
		if err := r.Client.Status().Patch(ctx, cr, client.MergeFrom(before)); err != nil {
			retErr = errors.Join(retErr, fmt.Errorf("patch status of ImageUpdater %s: %w", klog.KObj(cr), err))
		}
	}()

	refs, err := compileRefs(cr.Spec.ApplicationRefs)
	if err != nil {
		msg := err.Error()
		r.setAppConditions(cr, metav1.ConditionFalse, aiuv1.ReasonReconcileFailed, msg, metav1.ConditionTrue, aiuv1.ReasonReconcileError, msg)
		cr.Status.ObservedGeneration = cr.Generation
		cr.Status.LastCheckedAt = &c.now
		r.event(cr, corev1.EventTypeWarning, aiuv1.ReasonReconcileFailed, actionValidate, msg)
		return ctrl.Result{}, reconcile.TerminalError(fmt.Errorf("ImageUpdater %s: %s", klog.KObj(cr), msg))
	}

	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(argocd.ApplicationGVK.GroupVersion().WithKind("ApplicationList"))
	if err := r.APIReader.List(ctx, list, client.InNamespace(cr.Namespace)); err != nil {
		msg := fmt.Sprintf("list Applications in %s: %v", cr.Namespace, err)
		r.setAppConditions(cr, metav1.ConditionFalse, aiuv1.ReasonReconcileFailed, msg, metav1.ConditionTrue, aiuv1.ReasonReconcileError, msg)
		if c.full {
			cr.Status.LastCheckedAt = &c.now
		}
		return ctrl.Result{}, fmt.Errorf("ImageUpdater %s: %s", klog.KObj(cr), msg)
	}
	slices.SortFunc(list.Items, func(a, b unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
	for i := range list.Items {
		app := &list.Items[i]
		if st, ok := r.planApp(c, refs, app); ok {
			c.apps = append(c.apps, st)
		}
	}

	for i := range c.apps {
		a := &c.apps[i]
		if a.unit == nil || len(a.unit.plan.images) == 0 {
			continue
		}
		someDue := false
		for i, ip := range a.unit.plan.images {
			a.due[i] = c.full || a.unit.statuses[i].LastCheckedAt == nil || pushedImage(ip, pushed)
			someDue = someDue || a.due[i]
		}
		if !someDue {
			continue
		}
		actx := ctrl.LoggerInto(ctx, ctrl.LoggerFrom(ctx).WithValues("application", a.name))
		r.pollUnit(actx, a.unit, func(i int) bool { return a.due[i] })
		r.writeBackUnit(actx, a.unit)
		if len(a.unit.updated) > 0 {
			r.event(a.obj, corev1.EventTypeNormal, EventImagesUpdated, actionWriteBack,
				fmt.Sprintf("Successfully updated %d image(s) of application %s", len(a.unit.updated), a.name))
		}
	}
	r.recordAppStatus(c)
	if !c.full {
		// A push's check: the full one stays due at its time.
		return ctrl.Result{RequeueAfter: cr.Status.LastCheckedAt.Add(r.Interval).Sub(c.now.Time)}, nil
	}
	return ctrl.Result{RequeueAfter: r.Interval}, nil
}

// planApp gives an Application to the most specific matching ref and
// compiles its unit. ok is false when no ref matches.
func (r *AppReconciler) planApp(c *appCheck, refs []compiledRef, app *unstructured.Unstructured) (appState, bool) {
	matching := matchingRefs(refs, app.GetName(), app.GetLabels())
	if len(matching) == 0 {
		return appState{}, false
	}
	st := appState{name: app.GetName(), obj: app}
	spec := c.cr.Spec

	images, wb, err := appImages(spec, matching, app.GetAnnotations())
	if err != nil {
		st.reason, st.message = aiuv1.ReasonInvalidAnnotation, err.Error()
		return st, true
	}

	// The source the images are written to.
	typ := argocd.SourceType(app)
	if want := targetType(images); want != "" && len(argocd.Sources(app)) > 1 && argocd.HasSourceType(app, want) {
		// A multi-source Application: the images' manifest targets say
		// which of its sources they belong to.
		typ = want
	}
	switch {
	case wb.target == "kustomization" || strings.HasPrefix(wb.target, "kustomization:"):
		typ = argocd.SourceKustomize
	case wb.target == "helmvalues" || strings.HasPrefix(wb.target, "helmvalues:"):
		typ = argocd.SourceHelm
	}
	if typ != argocd.SourceKustomize && typ != argocd.SourceHelm {
		shown := typ
		if shown == "" {
			shown = "unknown (no status.sourceType, no kustomize or helm block)"
		}
		st.reason = aiuv1.ReasonUnsupportedSource
		st.message = fmt.Sprintf("the source type of Application %s is %s; images can be written to Kustomize and Helm sources", app.GetName(), shown)
		for _, ri := range images {
			st.images = append(st.images, aiuv1.ImageStatus{Alias: ri.alias, Image: imageRepo(ri.imageName)})
		}
		return st, true
	}
	src := argocd.Source(app, argocd.SourceIndex(app, typ))
	info := appInfo{name: app.GetName(), namespace: app.GetNamespace(), sourceType: typ}
	info.repoURL, _, _ = unstructured.NestedString(src, "repoURL")
	info.path, _, _ = unstructured.NestedString(src, "path")
	info.revision, _, _ = unstructured.NestedString(src, "targetRevision")
	wbp, err := compileRefWriteBack(wb, info, c.cr.Namespace)
	if err != nil {
		st.reason, st.message = wb.reason, err.Error()
		for _, ri := range images {
			st.images = append(st.images, aiuv1.ImageStatus{Alias: ri.alias, Image: imageRepo(ri.imageName)})
		}
		return st, true
	}

	summary, _, _ := unstructured.NestedStringSlice(app.Object, "status", "summary", "images")
	previous := previousImages(c.cr.Status, app.GetName())
	u := &unit{
		owner: c.cr, namespace: c.cr.Namespace, name: c.cr.Name, app: app.GetName(),
		plan: &plan{interval: r.Interval, writeBack: wbp}, now: c.now, redactor: c.redactor,
	}
	for _, ri := range images {
		is := aiuv1.ImageStatus{Alias: ri.alias, Image: imageRepo(ri.imageName)}
		kept := is
		if prev, ok := previous[ri.alias]; ok && prev.Image == is.Image {
			is, kept = prev, prev
			is.Reason, is.Message = "", ""
		}
		ip, err := compileRefImage(ri, c.cr.Namespace)
		if err != nil {
			st.invalid++
			is.Reason, is.Message = ri.reason, err.Error()
			st.images = append(st.images, is)
			continue
		}
		current, isLive := live(ip, summary)
		if !isLive && !deref(ri.settings.ForceUpdate) {
			is.Reason = aiuv1.ReasonNotLive
			is.Message = fmt.Sprintf("Application %s does not run %s (status.summary.images); set forceUpdate to update it anyway", app.GetName(), ip.spec.Image)
			st.images = append(st.images, is)
			continue
		}
		st.polled = append(st.polled, len(st.images))
		st.previous = append(st.previous, kept)
		st.due = append(st.due, false)
		st.images = append(st.images, is)
		u.plan.images = append(u.plan.images, ip)
		u.statuses = append(u.statuses, toEngineStatus(is))
		u.current = append(u.current, current)
	}
	st.unit = u
	return st, true
}

// targetType is the source type the images' manifest targets name: the
// first kustomize or helm target; "" when none names one.
func targetType(images []refImage) string {
	for _, ri := range images {
		switch {
		case ri.kustomizeName != "":
			return argocd.SourceKustomize
		case ri.helm != nil:
			return argocd.SourceHelm
		}
	}
	return ""
}

// recordAppStatus writes the check's results into the status.
func (r *AppReconciler) recordAppStatus(c *appCheck) {
	cr := c.cr
	status := &cr.Status
	status.ObservedGeneration = cr.Generation
	if c.full {
		status.LastCheckedAt = &c.now
	}
	status.ApplicationsMatched = int32(len(c.apps))
	var (
		// kept counts the errors of images not polled in this check.
		errCount, kept, managed int
		updates                 []aiuv1.RecentUpdate
		apps                    []aiuv1.ApplicationStatus
		updatedImages           int
	)
	for _, a := range c.apps {
		as := aiuv1.ApplicationStatus{Name: a.name, Reason: a.reason, Message: c.redactor.String(a.message)}
		if a.reason != "" {
			errCount++
		}
		images := a.images
		if a.unit != nil {
			errCount += a.unit.errors
			for i, idx := range a.polled {
				if !a.due[i] {
					images[idx] = a.previous[i]
					if images[idx].Reason != "" {
						kept++
					}
					continue
				}
				images[idx] = fromEngineStatus(images[idx], a.unit.statuses[i])
			}
			managed += len(a.polled)
			for _, i := range a.unit.updated {
				ip := a.unit.plan.images[i]
				st := a.unit.statuses[i]
				version := st.Digest
				if ip.query.Strategy != imagesv1.StrategyDigest || version == "" {
					version = st.Tag
				}
				updatedImages++
				updates = addRecentUpdate(updates, aiuv1.RecentUpdate{
					Alias: ip.spec.Name, Image: ip.spec.Image, NewVersion: version, ApplicationsUpdated: 1, UpdatedAt: c.now,
					Message: fmt.Sprintf("Updated from %s to %s.", orDefault(versionOf(a.unit.current[i]), "<none>"), version),
				})
			}
		}
		errCount += a.invalid
		as.Images = images
		apps = append(apps, as)
	}
	status.Applications = apps
	status.ImagesManaged = int32(managed)
	if len(updates) > 0 {
		status.RecentUpdates = updates
		status.LastUpdatedAt = &c.now
	}

	switch {
	case len(c.apps) == 0:
		msg := fmt.Sprintf("No Application in namespace %s matches spec.applicationRefs (namePattern and labelSelectors); nothing to update.", cr.Namespace)
		r.setAppConditions(cr, metav1.ConditionFalse, aiuv1.ReasonNoApplicationMatched, msg, metav1.ConditionTrue, aiuv1.ReasonNoApplicationMatched, msg)
	case errCount+kept > 0:
		r.setAppConditions(cr,
			metav1.ConditionTrue, aiuv1.ReasonReconcileCompletedWithErrors, fmt.Sprintf("Reconciled %d applications, %d images updated, with errors (see status.applications).", len(c.apps), updatedImages),
			metav1.ConditionTrue, aiuv1.ReasonPartialErrors, fmt.Sprintf("%d error(s) occurred during image update checks.", errCount+kept))
	default:
		r.setAppConditions(cr,
			metav1.ConditionTrue, aiuv1.ReasonReconcileSucceeded, fmt.Sprintf("Reconciled %d applications, %d images updated.", len(c.apps), updatedImages),
			metav1.ConditionFalse, aiuv1.ReasonNoErrors, "No errors.")
	}
	appsWatched.WithLabelValues(cr.Name, cr.Namespace).Set(float64(len(c.apps)))
	imagesWatched.WithLabelValues(cr.Name, cr.Namespace).Set(float64(managed))
	imagesUpdated.WithLabelValues(cr.Name, cr.Namespace).Add(float64(updatedImages))
	imagesErrors.WithLabelValues(cr.Name, cr.Namespace).Add(float64(errCount))
}

// setAppConditions sets Ready and Error, and Reconciling to False (Idle).
func (r *AppReconciler) setAppConditions(cr *aiuv1.ImageUpdater, ready metav1.ConditionStatus, readyReason, readyMsg string, errStatus metav1.ConditionStatus, errReason, errMsg string) {
	g := cr.Generation
	meta.SetStatusCondition(&cr.Status.Conditions, metav1.Condition{Type: aiuv1.ConditionReconciling, Status: metav1.ConditionFalse, Reason: aiuv1.ReasonIdle, Message: "Image update check finished.", ObservedGeneration: g})
	meta.SetStatusCondition(&cr.Status.Conditions, metav1.Condition{Type: aiuv1.ConditionReady, Status: ready, Reason: readyReason, Message: readyMsg, ObservedGeneration: g})
	meta.SetStatusCondition(&cr.Status.Conditions, metav1.Condition{Type: aiuv1.ConditionError, Status: errStatus, Reason: errReason, Message: errMsg, ObservedGeneration: g})
}

// addRecentUpdate adds u, merging it with an entry of the same alias and
// version (another Application updated to it).
func addRecentUpdate(list []aiuv1.RecentUpdate, u aiuv1.RecentUpdate) []aiuv1.RecentUpdate {
	for i := range list {
		if list[i].Alias == u.Alias && list[i].NewVersion == u.NewVersion {
			list[i].ApplicationsUpdated++
			return list
		}
	}
	return append(list, u)
}

func previousImages(status aiuv1.ImageUpdaterStatus, app string) map[string]aiuv1.ImageStatus {
	out := map[string]aiuv1.ImageStatus{}
	for _, a := range status.Applications {
		if a.Name != app {
			continue
		}
		for _, is := range a.Images {
			out[is.Alias] = is
		}
	}
	return out
}

// toEngineStatus and fromEngineStatus convert between the reference
// kind's image status and the engine's.
func toEngineStatus(is aiuv1.ImageStatus) imagesv1.ImageStatus {
	st := imagesv1.ImageStatus{Name: is.Alias, Tag: is.Tag, Digest: is.Digest, LastCheckedAt: is.LastCheckedAt}
	if is.Written != "" {
		st.LastWriteBack = &imagesv1.WriteBackRecord{Image: is.Written, Commit: is.Commit}
		if is.WrittenAt != nil {
			st.LastWriteBack.Time = *is.WrittenAt
		}
	}
	return st
}

func fromEngineStatus(is aiuv1.ImageStatus, st imagesv1.ImageStatus) aiuv1.ImageStatus {
	is.Tag, is.Digest, is.LastCheckedAt = st.Tag, st.Digest, st.LastCheckedAt
	is.Reason, is.Message = st.Reason, st.Message
	if wb := st.LastWriteBack; wb != nil && wb.Image != "" {
		is.Written, is.Commit = wb.Image, wb.Commit
		t := wb.Time
		is.WrittenAt = &t
	}
	return is
}

func imageRepo(imageName string) string {
	repo, _ := splitImageName(imageName)
	return repo
}
