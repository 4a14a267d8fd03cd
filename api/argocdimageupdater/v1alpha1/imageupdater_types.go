package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Finalizer is the finalizer argocd-image-updater puts on its
// ImageUpdaters. Switchyard does not add it, but removes it from an
// ImageUpdater being deleted, so objects the reference controller left
// behind can be deleted.
const Finalizer = "resources-finalizer.argocd-image-updater.argoproj.io"

// ImageUpdaterSpec names the Applications to update and how.
type ImageUpdaterSpec struct {
	// ApplicationRefs select Applications of this namespace. An Application
	// is given to the most specific ref that matches it.
	// +listType=map
	// +listMapKey=namePattern
	// +kubebuilder:validation:MinItems=1
	ApplicationRefs []ApplicationRef `json:"applicationRefs"`

	// CommonUpdateSettings are the defaults of every image.
	// +optional
	CommonUpdateSettings *CommonUpdateSettings `json:"commonUpdateSettings,omitempty"`

	// WriteBackConfig is the default write-back of every Application.
	// +optional
	WriteBackConfig *WriteBackConfig `json:"writeBackConfig,omitempty"`

	// ImagesVerification is the default signature check of every image.
	// +optional
	ImagesVerification *ImagesVerification `json:"imagesVerification,omitempty"`
}

// ApplicationRef selects Applications by name and labels.
// +kubebuilder:validation:XValidation:rule="(has(self.useAnnotations) && self.useAnnotations == true) || (has(self.images) && size(self.images) > 0)",message="Either useAnnotations must be true, or images must be provided with at least one item"
type ApplicationRef struct {
	// NamePattern is a glob (path/filepath.Match) on the Application's name.
	NamePattern string `json:"namePattern"`

	// LabelSelectors must match the Application's labels too, when set.
	// +structType=atomic
	// +optional
	LabelSelectors *metav1.LabelSelector `json:"labelSelectors,omitempty"`

	// UseAnnotations reads the images and their settings from the
	// Application's argocd-image-updater.argoproj.io annotations instead of
	// from Images.
	// +kubebuilder:default=false
	// +optional
	UseAnnotations *bool `json:"useAnnotations,omitempty"`

	// CommonUpdateSettings override the spec's for this ref's images.
	// +optional
	CommonUpdateSettings *CommonUpdateSettings `json:"commonUpdateSettings,omitempty"`

	// WriteBackConfig overrides the spec's for this ref's Applications.
	// +optional
	WriteBackConfig *WriteBackConfig `json:"writeBackConfig,omitempty"`

	// ImagesVerification overrides the spec's for this ref's images.
	// +optional
	ImagesVerification *ImagesVerification `json:"imagesVerification,omitempty"`

	// Images to track in the selected Applications.
	// +listType=map
	// +listMapKey=alias
	// +optional
	Images []ImageConfig `json:"images,omitempty"`
}

// ImageConfig is one image to track.
type ImageConfig struct {
	// Alias names the image in status, annotations and commit messages.
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9][a-zA-Z0-9-._]*$`
	Alias string `json:"alias"`

	// ImageName is [registry/]repository[:constraint]: the text after ":"
	// is the semver constraint, or the tag to track with the digest
	// strategy.
	ImageName string `json:"imageName"`

	// CommonUpdateSettings override the ref's and the spec's.
	// +optional
	CommonUpdateSettings *CommonUpdateSettings `json:"commonUpdateSettings,omitempty"`

	// ImagesVerification overrides the ref's and the spec's.
	// +optional
	ImagesVerification *ImagesVerification `json:"imagesVerification,omitempty"`

	// ManifestTarget says which Helm parameters or kustomize image the
	// image is written to.
	// +optional
	ManifestTarget *ManifestTarget `json:"manifestTargets,omitempty"`
}

// ManifestTarget names where in the Application's manifests the image goes.
// +kubebuilder:validation:XValidation:rule="(has(self.helm) ? 1 : 0) + (has(self.kustomize) ? 1 : 0) + (has(self.plugin) ? 1 : 0) == 1",message="Exactly one of helm, kustomize, or plugin must be specified within manifestTargets if the block is present."
type ManifestTarget struct {
	// Helm parameters of the image.
	// +optional
	Helm *HelmTarget `json:"helm,omitempty"`
	// Kustomize image to override.
	// +optional
	Kustomize *KustomizeTarget `json:"kustomize,omitempty"`
	// Plugin environment variables of the image.
	// +optional
	Plugin *PluginTarget `json:"plugin,omitempty"`
}

// HelmTarget names the Helm parameters of an image, as dot paths.
type HelmTarget struct {
	// Name parameter: the repository. Default image.name.
	// +optional
	Name string `json:"name,omitempty"`
	// Tag parameter: tag[@digest]. Default image.tag.
	// +optional
	Tag string `json:"tag,omitempty"`
	// Spec parameter: the whole reference. When set, Name and Tag are not
	// written.
	// +optional
	Spec string `json:"spec,omitempty"`
}

// KustomizeTarget names the kustomize image to override.
type KustomizeTarget struct {
	// Name is the images[].name of the kustomization.
	Name string `json:"name"`
}

// PluginTarget names the config management plugin's environment variables.
// +kubebuilder:validation:XValidation:rule="has(self.spec) || has(self.name)",message="At least one of spec or name must be specified in plugin target."
type PluginTarget struct {
	// Name variable: the repository.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`
	// Tag variable: tag[@digest].
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Tag string `json:"tag,omitempty"`
	// Spec variable: the whole reference.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Spec string `json:"spec,omitempty"`
}

// CommonUpdateSettings choose an image's new version. A field set on an
// image wins over its ref's, which wins over the spec's; lists replace.
type CommonUpdateSettings struct {
	// UpdateStrategy: semver (default), newest-build (alias latest),
	// alphabetical (alias name) or digest.
	// +optional
	UpdateStrategy *string `json:"updateStrategy,omitempty"`
	// ForceUpdate updates the image even when the Application does not run
	// it.
	// +optional
	ForceUpdate *bool `json:"forceUpdate,omitempty"`
	// AllowTags keeps only matching tags: "regexp:<RE2>" or "any".
	// +optional
	AllowTags *string `json:"allowTags,omitempty"`
	// IgnoreTags drops tags matching these globs.
	// +listType=atomic
	// +optional
	IgnoreTags []string `json:"ignoreTags,omitempty"`
	// PullSecret gives the registry credentials, as
	// pullsecret:<namespace>/<name>.
	// +optional
	PullSecret *string `json:"pullSecret,omitempty"`
	// Platforms the image must provide, as os/arch[/variant].
	// +listType=atomic
	// +optional
	Platforms []string `json:"platforms,omitempty"`
}

// WriteBackConfig says where new versions are written.
type WriteBackConfig struct {
	// Method: argocd (patch the Application), git, git:repocreds or
	// git:secret:[<namespace>/]<name>.
	// +kubebuilder:validation:Pattern=`^(argocd|git|git:[a-zA-Z0-9][a-zA-Z0-9-._/:]*)$`
	// +optional
	Method string `json:"method,omitempty"`
	// GitConfig of the git methods.
	// +optional
	GitConfig *GitConfig `json:"gitConfig,omitempty"`
}

// GitConfig is where and how the git methods commit.
type GitConfig struct {
	// Repository to commit to. Default: the Application source's repoURL.
	// +optional
	Repository string `json:"repository,omitempty"`
	// Branch: <branch>, <base>:<target> or :<target>. Default: the source's
	// targetRevision.
	// +optional
	Branch string `json:"branch,omitempty"`
	// WriteBackTarget: kustomization[:<dir>], helmvalues[:<file>] or a
	// file path. Default .argocd-source-<app>.yaml in the source's path.
	// +optional
	WriteBackTarget string `json:"writeBackTarget,omitempty"`
	// PullRequest opens a pull request instead of pushing to the branch.
	// +optional
	PullRequest *PullRequestConfig `json:"pullRequest,omitempty"`
}

// PullRequestConfig names the forge pull requests are opened on.
// +kubebuilder:validation:XValidation:rule="(has(self.github) ? 1 : 0) + (has(self.gitlab) ? 1 : 0) == 1",message="Exactly one of github or gitlab must be set"
type PullRequestConfig struct {
	// GitHub pull requests.
	// +optional
	GitHub *GitHubPullRequest `json:"github,omitempty"`
	// GitLab merge requests.
	// +optional
	GitLab *GitLabPullRequest `json:"gitlab,omitempty"`
	// Labels of the pull request.
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	// +listType=atomic
	// +optional
	Labels []string `json:"labels,omitempty"`
}

// GitHubPullRequest has no settings.
type GitHubPullRequest struct{}

// GitLabPullRequest has no settings.
type GitLabPullRequest struct{}

// ImagesVerification requires a cosign signature on the new image.
// +kubebuilder:validation:XValidation:rule="(has(self.enabled) && self.enabled == false) || has(self.cosignKey)",message="cosignKey is required when verification is enabled"
type ImagesVerification struct {
	// Enabled; true when the block is present.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// CosignKey is a Secret key of this namespace with the PEM public key.
	// +optional
	CosignKey *SecretKeyRef `json:"cosignKey,omitempty"`
}

// SecretKeyRef selects a key of a Secret.
type SecretKeyRef struct {
	// SecretName is the Secret's name.
	SecretName string `json:"secretName"`
	// Key in the Secret.
	Key string `json:"key"`
}

// Condition types and reasons of the reference's status.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionError       = "Error"

	ReasonReconciling                  = "Reconciling"
	ReasonIdle                         = "Idle"
	ReasonReconcileSucceeded           = "ReconcileSucceeded"
	ReasonReconcileCompletedWithErrors = "ReconcileCompletedWithErrors"
	ReasonReconcileFailed              = "ReconcileFailed"
	ReasonReconcileError               = "ReconcileError"
	ReasonPartialErrors                = "PartialErrors"
	ReasonNoErrors                     = "NoErrors"
)

// Reasons of status.applications[] and status.applications[].images[]
// (Switchyard's additions to the reference's status).
const (
	// ReasonNoApplicationMatched (Ready condition message too): no
	// Application of the namespace matches any ref.
	ReasonNoApplicationMatched = "NoApplicationMatched"
	// ReasonUnsupportedSource: the Application's source is neither
	// Kustomize nor Helm (nor a plugin with a plugin target).
	ReasonUnsupportedSource = "UnsupportedSource"
	// ReasonInvalidAnnotation: an annotation value cannot be used.
	ReasonInvalidAnnotation = "InvalidAnnotation"
	// ReasonInvalidSettings: a setting of the ImageUpdater cannot be used.
	ReasonInvalidSettings = "InvalidSettings"
	// ReasonNotLive: the Application does not run the image and
	// forceUpdate is off.
	ReasonNotLive = "NotLive"
)

// ImageUpdaterStatus is the reference's status, plus per Application and
// per image detail.
type ImageUpdaterStatus struct {
	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// LastCheckedAt is the start of the last check.
	// +optional
	LastCheckedAt *metav1.Time `json:"lastCheckedAt,omitempty"`
	// LastUpdatedAt is when an image was last written back.
	// +optional
	LastUpdatedAt *metav1.Time `json:"lastUpdatedAt,omitempty"`
	// RecentUpdates are the updates of the last check that updated
	// something.
	// +listType=atomic
	// +optional
	RecentUpdates []RecentUpdate `json:"recentUpdates,omitempty"`
	// ApplicationsMatched counts the Applications given to this
	// ImageUpdater.
	// +optional
	ApplicationsMatched int32 `json:"applicationsMatched,omitempty"`
	// ImagesManaged counts the images checked.
	// +optional
	ImagesManaged int32 `json:"imagesManaged,omitempty"`
	// Conditions: Reconciling, Ready and Error.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Applications reports each matched Application and its images.
	// +listType=map
	// +listMapKey=name
	// +optional
	Applications []ApplicationStatus `json:"applications,omitempty"`
}

// RecentUpdate is one image version written back.
type RecentUpdate struct {
	// Alias of the image (or its name).
	Alias string `json:"alias"`
	// Image without tag.
	Image string `json:"image"`
	// NewVersion written: the digest, or the tag.
	NewVersion string `json:"newVersion"`
	// ApplicationsUpdated counts the Applications it was written to.
	ApplicationsUpdated int32 `json:"applicationsUpdated"`
	// UpdatedAt is when.
	UpdatedAt metav1.Time `json:"updatedAt"`
	// Message says what changed.
	// +optional
	Message string `json:"message,omitempty"`
}

// ApplicationStatus reports one Application.
type ApplicationStatus struct {
	// Name of the Application.
	Name string `json:"name"`
	// Reason the Application cannot be updated (an Application-wide
	// problem); empty when it can.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message with the detail of Reason.
	// +optional
	Message string `json:"message,omitempty"`
	// Images of the Application.
	// +listType=map
	// +listMapKey=alias
	// +optional
	Images []ImageStatus `json:"images,omitempty"`
}

// ImageStatus reports one image of an Application.
type ImageStatus struct {
	// Alias of the image.
	Alias string `json:"alias"`
	// Image is the registry/repository.
	Image string `json:"image"`
	// Tag chosen at the last successful check.
	// +optional
	Tag string `json:"tag,omitempty"`
	// Digest of Tag at the last successful check (digest strategy).
	// +optional
	Digest string `json:"digest,omitempty"`
	// LastCheckedAt is the last check of the registry.
	// +optional
	LastCheckedAt *metav1.Time `json:"lastCheckedAt,omitempty"`
	// Written is the reference last written back (or found in place).
	// +optional
	Written string `json:"written,omitempty"`
	// WrittenAt is when Written was last changed by a write-back.
	// +optional
	WrittenAt *metav1.Time `json:"writtenAt,omitempty"`
	// Commit holding Written (git methods).
	// +optional
	Commit string `json:"commit,omitempty"`
	// Reason of the last failure or skip; empty when fine.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message with the detail of Reason.
	// +optional
	Message string `json:"message,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=imageupdaters,singular=imageupdater,scope=Namespaced
// +kubebuilder:printcolumn:name="Apps",type="integer",JSONPath=".status.applicationsMatched"
// +kubebuilder:printcolumn:name="Images",type="integer",JSONPath=".status.imagesManaged"
// +kubebuilder:printcolumn:name="Last Checked",type="date",JSONPath=".status.lastCheckedAt"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"

// ImageUpdater is argocd-image-updater's configuration object.
type ImageUpdater struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ImageUpdaterSpec   `json:"spec,omitempty"`
	Status ImageUpdaterStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ImageUpdaterList is a list of ImageUpdaters.
type ImageUpdaterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageUpdater `json:"items"`
}
