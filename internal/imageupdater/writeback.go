package imageupdater

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/argocd"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/gitwrite"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/kustomize"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/workload"
)

// pending is an image resolved in this reconcile, to be written back.
type pending struct {
	index int // into plan.images and the unit's statuses
	ip    imagePlan
	tag   string
	// digest is written only for the digest strategy: the other strategies
	// choose among tags that, as in argocd-image-updater, are taken to be
	// immutable, and the written tag is what users read in git.
	digest string
	// current is the reference the target named before ("" unknown).
	current string
}

// ref is the image reference written: repo:tag@digest or repo:tag.
func (p pending) ref() string {
	ref := p.ip.spec.Image + ":" + p.tag
	if p.digest != "" {
		ref += "@" + p.digest
	}
	return ref
}

// version is the new version as argocd-image-updater names it in commit
// messages and status: the digest, else the tag.
func (p pending) version() string {
	if p.digest != "" {
		return p.digest
	}
	return p.tag
}

// argocdImage is the image as the argocd package writes it.
func (p pending) argocdImage() argocd.Image {
	return argocd.Image{KustomizeName: p.ip.kustomizeName, Bare: p.ip.bareKustomizeEntry, Ref: p.ref(), Helm: p.ip.helm}
}

// writeBackResult is the outcome of writing back a set of images.
type writeBackResult struct {
	changed []bool // per pending image
	commit  string // git
	branch  string // git: the branch pushed
	object  string // argocd and workload: "Kind namespace/name"
	err     error
}

// reconcileWriteBack writes the images resolved in this reconcile to the
// target.
func (r *Reconciler) reconcileWriteBack(ctx context.Context, s *scope) (ctrl.Result, error) {
	r.writeBackUnit(ctx, s.unit)
	return ctrl.Result{}, nil
}

// writeBackUnit writes the images of u resolved in this reconcile to u's
// target. It runs for unchanged images too: the write is idempotent (no
// commit, no patch when the target already says so), and it repairs a
// target someone changed by hand.
func (r *Reconciler) writeBackUnit(ctx context.Context, u *unit) {
	var todo []pending
	for i, res := range u.resolved {
		if res == nil {
			continue
		}
		p := pending{index: i, ip: u.plan.images[i], tag: res.Tag}
		if p.ip.query.Strategy == imagesv1.StrategyDigest {
			p.digest = res.Digest
		}
		if i < len(u.current) {
			p.current = u.current[i]
		}
		todo = append(todo, p)
	}
	if len(todo) == 0 {
		return
	}

	ctx, cancel := context.WithTimeout(ctx, r.WriteBackTimeout)
	defer cancel()
	var wr writeBackResult
	switch u.plan.writeBack.method {
	case imagesv1.WriteBackGit:
		wr = r.writeGit(ctx, u, todo)
	case imagesv1.WriteBackArgoCD:
		wr = r.writeArgoCD(ctx, u, todo)
	case imagesv1.WriteBackWorkload:
		wr = r.writeWorkload(ctx, u, todo)
	}
	r.recordWriteBacks(ctx, u, todo, wr)
}

func (r *Reconciler) writeGit(ctx context.Context, u *unit, todo []pending) writeBackResult {
	wb := u.plan.writeBack
	var secret *corev1.Secret
	if wb.gitSecret != "" {
		secret = &corev1.Secret{}
		if err := r.getRef(ctx, u.namespace, wb.gitSecret, secret); err != nil {
			return writeBackResult{err: refError("git secret", wb.gitSecret, err)}
		}
	}
	creds, err := gitwrite.CredentialsFromSecret(wb.gitURL, secret)
	if err != nil {
		return writeBackResult{err: err}
	}
	u.redactor.Add(creds.Secrets...)

	req := gitwrite.Request{
		URL: wb.gitURL, Branch: wb.gitBranch, Path: wb.gitPath, Credentials: creds,
		AuthorName: wb.authorName, AuthorEmail: wb.authorEmail,
	}
	if wb.file != nil {
		if err := wb.file.request(&req, u, todo); err != nil {
			return writeBackResult{err: err}
		}
	} else {
		for _, p := range todo {
			msg, err := wb.commitMessage(messageData{Name: p.ip.spec.Name, Image: p.ip.spec.Image, Tag: p.tag, Digest: p.digest, Ref: p.ref()})
			if err != nil {
				return writeBackResult{err: failure.New(imagesv1.ReasonInvalidSpec, err, "render commit message")}
			}
			req.Edits = append(req.Edits, gitwrite.Edit{
				Image:   kustomize.Image{Name: p.ip.kustomizeName, NewName: p.ip.spec.Image, NewTag: p.tag, Digest: p.digest},
				Message: msg,
			})
		}
	}
	res, err := r.git.Write(ctx, req)
	if err != nil {
		return writeBackResult{err: err}
	}
	return writeBackResult{changed: res.Changed, commit: res.Head, branch: orDefault(req.PushBranch, req.Branch)}
}

func (r *Reconciler) writeArgoCD(ctx context.Context, u *unit, todo []pending) writeBackResult {
	key := u.plan.writeBack.application
	images := make([]argocd.Image, len(todo))
	for i, p := range todo {
		images[i] = p.argocdImage()
	}
	changed, err := argocd.SetImages(ctx, r.APIReader, r.Client, key, u.plan.writeBack.sourceType, images)
	return writeBackResult{changed: changed, object: argocd.ApplicationGVK.Kind + " " + key.String(), err: err}
}

func (r *Reconciler) writeWorkload(ctx context.Context, u *unit, todo []pending) writeBackResult {
	t := u.plan.writeBack.target
	images := make([]workload.Image, len(todo))
	for i, p := range todo {
		images[i] = workload.Image{Names: []string{p.ip.kustomizeName, p.ip.spec.Image}, Ref: p.ref()}
	}
	changed, err := workload.SetImages(ctx, r.APIReader, r.Client, t, images)
	return writeBackResult{changed: changed, object: t.String(), err: err}
}

// recordWriteBacks writes the result into each image's status, metrics,
// events and log.
func (r *Reconciler) recordWriteBacks(ctx context.Context, u *unit, todo []pending, wr writeBackResult) {
	log := ctrl.LoggerFrom(ctx)
	method := u.plan.writeBack.method
	o := u.outcome(wr.err, imagesv1.ReasonWriteBackFailed)
	var written []string
	for i, p := range todo {
		st := &u.statuses[p.index]
		labels := []string{u.namespace, u.name, p.ip.spec.Name, string(method)}
		prevReason := st.Reason
		if o.failed() {
			writeBacksTotal.WithLabelValues(append(labels, "error")...).Inc()
			errorsTotal.WithLabelValues(u.namespace, u.name, p.ip.spec.Name, o.reason).Inc()
			u.errors++
			recordWriteBack(st, imagesv1.WriteBackRecord{}, o)
			log.Info("Write-back failed", "application", u.app, "image", p.ip.spec.Name, "method", method, "reason", o.reason, "message", o.message, "consecutiveFailures", st.ConsecutiveFailures)
			if o.reason != prevReason {
				r.event(u.owner, corev1.EventTypeWarning, o.reason, actionWriteBack, fmt.Sprintf("%simage %s: %s", u.prefix(), p.ip.spec.Name, o.message))
			}
			continue
		}
		changed := i < len(wr.changed) && wr.changed[i]
		result := "unchanged"
		if changed {
			result = "changed"
			written = append(written, p.ip.spec.Name+" → "+p.ref())
			u.updated = append(u.updated, p.index)
		}
		writeBacksTotal.WithLabelValues(append(labels, result)...).Inc()
		recordWriteBack(st, imagesv1.WriteBackRecord{
			Method: method, Image: p.ref(), Commit: wr.commit, Object: wr.object, Changed: changed, Time: u.now,
		}, outcome{})
		if prevReason != "" {
			r.event(u.owner, corev1.EventTypeNormal, EventRecovered, actionWriteBack, fmt.Sprintf("%simage %s: polled and written back again after %s", u.prefix(), p.ip.spec.Name, prevReason))
		}
	}
	if len(written) == 0 {
		return
	}
	list := strings.Join(written, ", ")
	wb := u.plan.writeBack
	switch method {
	case imagesv1.WriteBackGit:
		log.Info("Committed images", "application", u.app, "commit", wr.commit, "url", u.redactor.String(wb.gitURL), "images", list)
		r.event(u.owner, corev1.EventTypeNormal, EventCommitted, actionWriteBack,
			u.redactor.String(fmt.Sprintf("%spushed %s to %s (branch %s): %s", u.prefix(), shortSHA(wr.commit), wb.gitURL, wr.branch, list)))
	default:
		log.Info("Patched images", "object", wr.object, "images", list)
		r.event(u.owner, corev1.EventTypeNormal, EventPatched, actionWriteBack, fmt.Sprintf("set %s on %s", list, wr.object))
	}
}

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
