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
	index int // into plan.images and status.images
	ip    imagePlan
	tag   string
	// digest is written only for the digest strategy: the other strategies
	// choose among tags that, as in argocd-image-updater, are taken to be
	// immutable, and the written tag is what users read in git.
	digest string
}

// ref is the image reference written: repo:tag@digest or repo:tag.
func (p pending) ref() string {
	ref := p.ip.spec.Image + ":" + p.tag
	if p.digest != "" {
		ref += "@" + p.digest
	}
	return ref
}

// writeBackResult is the outcome of writing back a set of images.
type writeBackResult struct {
	changed []bool // per pending image
	commit  string // git
	object  string // argocd and workload: "Kind namespace/name"
	err     error
}

// reconcileWriteBack writes the images resolved in this reconcile to the
// target. It runs for unchanged images too: the write is idempotent (no
// commit, no patch when the target already says so), and it repairs a
// target someone changed by hand.
func (r *Reconciler) reconcileWriteBack(ctx context.Context, s *scope) (ctrl.Result, error) {
	var todo []pending
	for i, res := range s.resolved {
		if res == nil {
			continue
		}
		p := pending{index: i, ip: s.plan.images[i], tag: res.Tag}
		if p.ip.query.Strategy == imagesv1.StrategyDigest {
			p.digest = res.Digest
		}
		todo = append(todo, p)
	}
	if len(todo) == 0 {
		return ctrl.Result{}, nil
	}

	ctx, cancel := context.WithTimeout(ctx, r.WriteBackTimeout)
	defer cancel()
	var wr writeBackResult
	switch s.plan.writeBack.method {
	case imagesv1.WriteBackGit:
		wr = r.writeGit(ctx, s, todo)
	case imagesv1.WriteBackArgoCD:
		wr = r.writeArgoCD(ctx, s, todo)
	case imagesv1.WriteBackWorkload:
		wr = r.writeWorkload(ctx, s, todo)
	}
	r.recordWriteBacks(ctx, s, todo, wr)
	return ctrl.Result{}, nil
}

func (r *Reconciler) writeGit(ctx context.Context, s *scope, todo []pending) writeBackResult {
	wb := s.plan.writeBack
	var secret *corev1.Secret
	if wb.gitSecret != "" {
		secret = &corev1.Secret{}
		if err := r.getRef(ctx, s.iu.Namespace, wb.gitSecret, secret); err != nil {
			return writeBackResult{err: refError("git secret", wb.gitSecret, err)}
		}
	}
	creds, err := gitwrite.CredentialsFromSecret(wb.gitURL, secret)
	if err != nil {
		return writeBackResult{err: err}
	}
	s.redactor.Add(creds.Secrets...)

	req := gitwrite.Request{
		URL: wb.gitURL, Branch: wb.gitBranch, Path: wb.gitPath, Credentials: creds,
		AuthorName: wb.authorName, AuthorEmail: wb.authorEmail,
	}
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
	res, err := r.git.Write(ctx, req)
	if err != nil {
		return writeBackResult{err: err}
	}
	return writeBackResult{changed: res.Changed, commit: res.Head}
}

func (r *Reconciler) writeArgoCD(ctx context.Context, s *scope, todo []pending) writeBackResult {
	key := s.plan.writeBack.application
	images := make([]argocd.Image, len(todo))
	for i, p := range todo {
		images[i] = argocd.Image{KustomizeName: p.ip.kustomizeName, Ref: p.ref()}
	}
	changed, err := argocd.SetImages(ctx, r.APIReader, r.Client, key, images)
	return writeBackResult{changed: changed, object: argocd.ApplicationGVK.Kind + " " + key.String(), err: err}
}

func (r *Reconciler) writeWorkload(ctx context.Context, s *scope, todo []pending) writeBackResult {
	t := s.plan.writeBack.target
	images := make([]workload.Image, len(todo))
	for i, p := range todo {
		images[i] = workload.Image{Names: []string{p.ip.kustomizeName, p.ip.spec.Image}, Ref: p.ref()}
	}
	changed, err := workload.SetImages(ctx, r.APIReader, r.Client, t, images)
	return writeBackResult{changed: changed, object: t.String(), err: err}
}

// recordWriteBacks writes the result into each image's status, metrics,
// events and log.
func (r *Reconciler) recordWriteBacks(ctx context.Context, s *scope, todo []pending, wr writeBackResult) {
	log := ctrl.LoggerFrom(ctx)
	method := s.plan.writeBack.method
	o := s.outcome(wr.err, imagesv1.ReasonWriteBackFailed)
	var written []string
	for i, p := range todo {
		st := &s.iu.Status.Images[p.index]
		labels := []string{s.iu.Namespace, s.iu.Name, p.ip.spec.Name, string(method)}
		prevReason := st.Reason
		if o.failed() {
			writeBacksTotal.WithLabelValues(append(labels, "error")...).Inc()
			errorsTotal.WithLabelValues(s.iu.Namespace, s.iu.Name, p.ip.spec.Name, o.reason).Inc()
			recordWriteBack(st, imagesv1.WriteBackRecord{}, o)
			log.Info("Write-back failed", "image", p.ip.spec.Name, "method", method, "reason", o.reason, "message", o.message, "consecutiveFailures", st.ConsecutiveFailures)
			if o.reason != prevReason {
				r.event(s.iu, corev1.EventTypeWarning, o.reason, actionWriteBack, fmt.Sprintf("image %s: %s", p.ip.spec.Name, o.message))
			}
			continue
		}
		changed := i < len(wr.changed) && wr.changed[i]
		result := "unchanged"
		if changed {
			result = "changed"
			written = append(written, p.ip.spec.Name+" → "+p.ref())
		}
		writeBacksTotal.WithLabelValues(append(labels, result)...).Inc()
		recordWriteBack(st, imagesv1.WriteBackRecord{
			Method: method, Image: p.ref(), Commit: wr.commit, Object: wr.object, Changed: changed, Time: s.now,
		}, outcome{})
		if prevReason != "" {
			r.event(s.iu, corev1.EventTypeNormal, EventRecovered, actionWriteBack, fmt.Sprintf("image %s: polled and written back again after %s", p.ip.spec.Name, prevReason))
		}
	}
	if len(written) == 0 {
		return
	}
	list := strings.Join(written, ", ")
	switch method {
	case imagesv1.WriteBackGit:
		log.Info("Committed images", "commit", wr.commit, "url", s.redactor.String(s.plan.writeBack.gitURL), "images", list)
		r.event(s.iu, corev1.EventTypeNormal, EventCommitted, actionWriteBack,
			s.redactor.String(fmt.Sprintf("pushed %s to %s (branch %s): %s", shortSHA(wr.commit), s.plan.writeBack.gitURL, s.plan.writeBack.gitBranch, list)))
	default:
		log.Info("Patched images", "object", wr.object, "images", list)
		r.event(s.iu, corev1.EventTypeNormal, EventPatched, actionWriteBack, fmt.Sprintf("set %s on %s", list, wr.object))
	}
}

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
