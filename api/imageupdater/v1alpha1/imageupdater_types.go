package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UpdateStrategy names how a new image version is chosen, with the names
// argocd-image-updater users know.
// +kubebuilder:validation:Enum=digest;semver;newest-build;alphabetical
type UpdateStrategy string

const (
	// StrategyDigest tracks one mutable tag (for example latest) and follows
	// the digest the registry reports for it.
	StrategyDigest UpdateStrategy = "digest"
	// StrategySemver picks the highest tag that satisfies a semver constraint.
	StrategySemver UpdateStrategy = "semver"
	// StrategyNewestBuild picks the tag whose image config has the newest
	// creation date.
	StrategyNewestBuild UpdateStrategy = "newest-build"
	// StrategyAlphabetical picks the tag that sorts last.
	StrategyAlphabetical UpdateStrategy = "alphabetical"
)

// WriteBackMethod names where a chosen image version is written.
// +kubebuilder:validation:Enum=git;argocd;workload
type WriteBackMethod string

const (
	// WriteBackGit commits the image to a kustomization.yaml in a git
	// repository, as `kustomize edit set image` would.
	WriteBackGit WriteBackMethod = "git"
	// WriteBackArgoCD patches an Argo CD Application's
	// spec.source.kustomize.images.
	WriteBackArgoCD WriteBackMethod = "argocd"
	// WriteBackWorkload sets the container image of a Rollout or Deployment
	// in the cluster directly.
	WriteBackWorkload WriteBackMethod = "workload"
)

// ImageUpdaterSpec declares the images to watch and where to write them.
// +kubebuilder:validation:XValidation:rule="self.writeBack.method != 'workload' || !has(self.writeBack.workload) || !has(self.writeBack.workload.container) || size(self.images) == 1",message="writeBack.workload.container can only be set with exactly one image"
type ImageUpdaterSpec struct {
	// Images to watch. Each is resolved independently: one that fails does
	// not stop the others from being written back.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	Images []ImageSpec `json:"images"`

	// Interval between registry polls. Failures are retried sooner, with
	// exponential backoff. Minimum 10s.
	// +kubebuilder:default="2m0s"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// WriteBack says where the chosen images are written.
	WriteBack WriteBackSpec `json:"writeBack"`

	// Suspend stops polling and writing back until it is cleared.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// ImageSpec is one image to watch.
// +kubebuilder:validation:XValidation:rule="!has(self.caSecret) || !has(self.caConfigMap)",message="set at most one of caSecret and caConfigMap"
type ImageSpec struct {
	// Name is an alias for the image, unique in this ImageUpdater; status,
	// events and metrics refer to the image by it.
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// Image is the registry and repository, without tag or digest, for
	// example 123456789012.dkr.ecr.eu-west-1.amazonaws.com/backend.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Image string `json:"image"`

	// Strategy chooses the image version.
	// +kubebuilder:default=digest
	// +optional
	Strategy UpdateStrategy `json:"strategy,omitempty"`

	// Tag is the mutable tag the digest strategy tracks. Default latest.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Tag string `json:"tag,omitempty"`

	// Constraint is the semver constraint (Masterminds syntax, for example
	// "^1.2" or ">=1.0, <2") for the semver strategy. Empty means any
	// release version.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Constraint string `json:"constraint,omitempty"`

	// AllowTags keeps only matching tags as candidates: "regexp:<expr>" or
	// "any" (the default), as in argocd-image-updater.
	// +optional
	AllowTags string `json:"allowTags,omitempty"`

	// IgnoreTags drops matching tags from the candidates. Each entry is a
	// glob pattern ("*" and "?") or "regexp:<expr>".
	// +kubebuilder:validation:MaxItems=32
	// +optional
	IgnoreTags []string `json:"ignoreTags,omitempty"`

	// PullSecret names a kubernetes.io/dockerconfigjson Secret in this
	// namespace with credentials for the registry. Without it the registry is
	// accessed with the controller's cloud credentials (ECR) or anonymously.
	// +optional
	PullSecret string `json:"pullSecret,omitempty"`

	// Platforms the chosen image must provide, as os/arch[/variant], for
	// example linux/amd64. The written digest is still that of the manifest
	// list or index.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Platforms []string `json:"platforms,omitempty"`

	// KustomizeImageName is the image name as the manifests spell it (the
	// name in kustomization.yaml images[].name). Default: Image.
	// +optional
	KustomizeImageName string `json:"kustomizeImageName,omitempty"`

	// Insecure skips TLS verification of the registry and allows plain HTTP.
	// +optional
	Insecure bool `json:"insecure,omitempty"`

	// CASecret is a Secret in this namespace holding PEM CA certificates
	// the registry's certificate is verified with, in addition to the system
	// roots.
	// +optional
	CASecret *KeyRef `json:"caSecret,omitempty"`

	// CAConfigMap is the ConfigMap form of CASecret.
	// +optional
	CAConfigMap *KeyRef `json:"caConfigMap,omitempty"`
}

// KeyRef selects a key of a Secret or ConfigMap in the ImageUpdater's
// namespace.
type KeyRef struct {
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Key in the object's data. Default ca.crt.
	// +optional
	Key string `json:"key,omitempty"`
}

// LocalObjectReference names an object in the ImageUpdater's namespace.
type LocalObjectReference struct {
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// WriteBackSpec says where the chosen images are written.
// +kubebuilder:validation:XValidation:rule="self.method != 'git' || has(self.git)",message="writeBack.git is required with method git"
// +kubebuilder:validation:XValidation:rule="self.method != 'argocd' || has(self.argocd)",message="writeBack.argocd is required with method argocd"
// +kubebuilder:validation:XValidation:rule="self.method != 'workload' || has(self.workload)",message="writeBack.workload is required with method workload"
type WriteBackSpec struct {
	// Method of write-back.
	Method WriteBackMethod `json:"method"`
	// Git write-back settings.
	// +optional
	Git *GitWriteBack `json:"git,omitempty"`
	// ArgoCD write-back settings.
	// +optional
	ArgoCD *ArgoCDWriteBack `json:"argocd,omitempty"`
	// Workload write-back settings.
	// +optional
	Workload *WorkloadWriteBack `json:"workload,omitempty"`
}

// GitWriteBack commits the images to a kustomization.yaml.
type GitWriteBack struct {
	// URL of the repository: https://... or ssh://... (or scp-like
	// git@host:path). Credentials do not belong in the URL; use SecretRef.
	// +kubebuilder:validation:MinLength=1
	URL string `json:"url"`

	// Branch to commit to. Default main.
	// +kubebuilder:default=main
	// +optional
	Branch string `json:"branch,omitempty"`

	// Path of the directory holding kustomization.yaml, relative to the
	// repository root. Default the root.
	// +kubebuilder:default="."
	// +optional
	Path string `json:"path,omitempty"`

	// SecretRef names a Secret in this namespace with git credentials:
	// "username" and "password" (or "token") for HTTPS; "sshPrivateKey"
	// (or "identity"), optional "sshPassphrase", and "known_hosts" for SSH.
	// An optional "ca.crt" is trusted for HTTPS.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// Author of the commits.
	// +optional
	Author CommitAuthor `json:"author,omitempty"`

	// MessageTemplate is a Go text/template for the commit message, with
	// .Name (the alias), .Image (registry/repository), .Tag, .Digest (empty
	// for strategies other than digest) and .Ref (the reference written,
	// Image:Tag@Digest). One commit is made per changed image. Default
	// "Update {{.Name}} to {{.Ref}}".
	// +optional
	MessageTemplate string `json:"messageTemplate,omitempty"`
}

// CommitAuthor is the author and committer of write-back commits.
type CommitAuthor struct {
	// Name of the author. Default "Switchyard Image Updater".
	// +optional
	Name string `json:"name,omitempty"`
	// Email of the author. Default "image-updater@switchyard.dev".
	// +optional
	Email string `json:"email,omitempty"`
}

// ArgoCDWriteBack patches an Argo CD Application.
type ArgoCDWriteBack struct {
	// ApplicationName is the Application's name.
	// +kubebuilder:validation:MinLength=1
	ApplicationName string `json:"applicationName"`
	// Namespace of the Application. Default: the ImageUpdater's namespace.
	// Another namespace is refused unless the controller allows
	// cross-namespace references.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// WorkloadWriteBack sets container images on a workload in this namespace.
type WorkloadWriteBack struct {
	// APIVersion of the workload. Default apps/v1 for a Deployment and
	// argoproj.io/v1alpha1 for a Rollout.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind of the workload.
	// +kubebuilder:validation:Enum=Deployment;Rollout
	Kind string `json:"kind"`
	// Name of the workload.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Container to update. Without it, every container and init container
	// whose image names one of the watched images (by KustomizeImageName or
	// Image) is updated.
	// +optional
	Container string `json:"container,omitempty"`
}

// ImageUpdaterStatus is the observed state of an ImageUpdater.
type ImageUpdaterStatus struct {
	// ObservedGeneration is the generation the status describes: all images
	// of that spec were polled at least once.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready summarises the last poll and write-back of every
	// image; Stalled is set when the spec cannot work until it is changed.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Images reports each watched image.
	// +listType=map
	// +listMapKey=name
	// +optional
	Images []ImageStatus `json:"images,omitempty"`
}

// ImageStatus reports one watched image.
type ImageStatus struct {
	// Name is the image's alias from the spec.
	Name string `json:"name"`
	// Tag chosen at the last successful poll.
	// +optional
	Tag string `json:"tag,omitempty"`
	// Digest the registry reported for Tag at the last successful poll: the
	// manifest list or index digest for multi-arch images.
	// +optional
	Digest string `json:"digest,omitempty"`
	// ChangedAt is when Tag or Digest last changed.
	// +optional
	ChangedAt *metav1.Time `json:"changedAt,omitempty"`
	// LastCheckedAt is when the registry was last polled for this image,
	// successfully or not.
	// +optional
	LastCheckedAt *metav1.Time `json:"lastCheckedAt,omitempty"`
	// LastWriteBack is the last successful write-back of this image.
	// +optional
	LastWriteBack *WriteBackRecord `json:"lastWriteBack,omitempty"`
	// ConsecutiveFailures counts failed polls or write-backs since the last
	// success; it drives the retry backoff.
	// +optional
	ConsecutiveFailures int32 `json:"consecutiveFailures,omitempty"`
	// Reason of the last failure (a Ready condition reason); empty when the
	// last poll and write-back succeeded.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message of the last failure.
	// +optional
	Message string `json:"message,omitempty"`
}

// WriteBackRecord describes a write-back.
type WriteBackRecord struct {
	// Method used.
	Method WriteBackMethod `json:"method"`
	// Image reference written, for example registry/backend:latest@sha256:....
	Image string `json:"image"`
	// Commit is the SHA of the commit that holds the image (git method). It
	// is the existing head when the repository already named the image.
	// +optional
	Commit string `json:"commit,omitempty"`
	// Object is the patched object as Kind namespace/name (argocd and
	// workload methods).
	// +optional
	Object string `json:"object,omitempty"`
	// Changed is false when the target already named the image and nothing
	// was written.
	Changed bool `json:"changed"`
	// Time of the write-back.
	Time metav1.Time `json:"time"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=imageupdaters,scope=Namespaced,shortName=iu,categories=switchyard
// +kubebuilder:printcolumn:name="Method",type="string",JSONPath=".spec.writeBack.method"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Reason",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].reason"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"

// ImageUpdater watches container registries for new image versions and
// writes them back to git, an Argo CD Application or a workload.
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
