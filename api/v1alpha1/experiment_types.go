package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Experiment API follows Argo Rollouts' published schema field for
// field. Like the analysis CRDs it has no status subresource: status is
// written through the main resource, and `retry experiment` sends
// {"status":null} there.

// Annotations on the ReplicaSets and Services an Experiment creates; they
// tie each object to its Experiment and template.
const (
	ExperimentTemplateNameAnnotationKey = "experiment.argoproj.io/template-name"
)

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=exp,path=experiments,scope=Namespaced
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.phase",description="Experiment status"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"

// Experiment runs one or more ReplicaSets side by side (typically a
// baseline and a canary) for a while, with AnalysisRuns judging them.
type Experiment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ExperimentSpec `json:"spec"`
	// +optional
	Status ExperimentStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// ExperimentList is a list of Experiments.
type ExperimentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Experiment `json:"items"`
}

// ExperimentSpec is what to run, for how long, and how to judge it.
type ExperimentSpec struct {
	// Templates are the ReplicaSets to run, one per template.
	Templates []TemplateSpec `json:"templates"`
	// Duration is how long the Experiment runs once every template is
	// available ("" = until terminated, failed, or its required analyses end).
	// +optional
	Duration DurationString `json:"duration,omitempty"`
	// ProgressDeadlineSeconds is how long a template may take to become
	// available (default 600).
	// +optional
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
	// Terminate stops the Experiment: its ReplicaSets are scaled down and
	// its AnalysisRuns terminated.
	// +optional
	Terminate bool `json:"terminate,omitempty"`
	// +optional
	Analyses []ExperimentAnalysisTemplateRef `json:"analyses,omitempty"`
	// ScaleDownDelaySeconds is how long the ReplicaSets keep their pods
	// once the Experiment ends (default 30; 0 = at once).
	// +optional
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// DryRun and MeasurementRetention are added to every AnalysisRun the
	// Experiment creates.
	// +optional
	DryRun []DryRun `json:"dryRun,omitempty"`
	// +optional
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`
	// AnalysisRunMetadata are labels and annotations for the AnalysisRuns.
	// +optional
	AnalysisRunMetadata AnalysisRunMetadata `json:"analysisRunMetadata,omitzero"`
}

// TemplateSpec is one ReplicaSet of an Experiment.
type TemplateSpec struct {
	Name string `json:"name"`
	// Replicas defaults to 1.
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// +optional
	MinReadySeconds int32                  `json:"minReadySeconds,omitempty"`
	Selector        *metav1.LabelSelector  `json:"selector"`
	Template        corev1.PodTemplateSpec `json:"template"`
	// Service, when set, gives the template's pods a Service of their own.
	// +optional
	Service *TemplateService `json:"service,omitempty"`
}

// TemplateService is the Service of an Experiment template.
type TemplateService struct {
	// Name defaults to the ReplicaSet's name.
	// +optional
	Name string `json:"name,omitempty"`
}

// ExperimentAnalysisTemplateRef is one AnalysisRun an Experiment runs.
type ExperimentAnalysisTemplateRef struct {
	// Name identifies the analysis within the Experiment; the run is
	// named <experiment>-<name>.
	Name         string `json:"name"`
	TemplateName string `json:"templateName"`
	// +optional
	ClusterScope bool `json:"clusterScope,omitempty"`
	// Args may use {{templates.<template>.podTemplateHash}},
	// {{templates.<template>.replicaset.name}}, {{experiment.availableAt}}
	// and {{experiment.finishedAt}}.
	// +optional
	Args []Argument `json:"args,omitempty"`
	// RequiredForCompletion: the Experiment ends once every such run is
	// Successful (and not before, whatever its duration).
	// +optional
	RequiredForCompletion bool `json:"requiredForCompletion,omitempty"`
}

// ExperimentStatus is the observed state of an Experiment.
type ExperimentStatus struct {
	// Phase is one of the analysis phases: Pending, Running, Successful,
	// Failed, Error, Inconclusive.
	// +optional
	Phase AnalysisPhase `json:"phase,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	TemplateStatuses []TemplateStatus `json:"templateStatuses,omitempty"`
	// AvailableAt is when every template first became available; the
	// duration counts from it.
	// +optional
	AvailableAt *metav1.Time `json:"availableAt,omitempty"`
	// +optional
	Conditions []ExperimentCondition `json:"conditions,omitempty"`
	// +optional
	AnalysisRuns []ExperimentAnalysisRunStatus `json:"analysisRuns,omitempty"`
}

// TemplateStatusCode is the state of one template's ReplicaSet.
type TemplateStatusCode string

// Template states. The last three are final.
const (
	TemplateStatusProgressing TemplateStatusCode = "Progressing"
	TemplateStatusRunning     TemplateStatusCode = "Running"
	TemplateStatusSuccessful  TemplateStatusCode = "Successful"
	TemplateStatusFailed      TemplateStatusCode = "Failed"
	TemplateStatusError       TemplateStatusCode = "Error"
)

// Completed reports whether the template state is final.
func (c TemplateStatusCode) Completed() bool {
	switch c {
	case TemplateStatusSuccessful, TemplateStatusFailed, TemplateStatusError:
		return true
	}
	return false
}

// TemplateStatus is the observed state of one template.
type TemplateStatus struct {
	Name              string `json:"name"`
	Replicas          int32  `json:"replicas"`
	UpdatedReplicas   int32  `json:"updatedReplicas"`
	ReadyReplicas     int32  `json:"readyReplicas"`
	AvailableReplicas int32  `json:"availableReplicas"`
	// CollisionCount perturbs the pod-template hash after a collision.
	// +optional
	CollisionCount *int32 `json:"collisionCount,omitempty"`
	// +optional
	Status TemplateStatusCode `json:"status,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// LastTransitionTime is when the counts last changed; the progress
	// deadline counts from it.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
	// +optional
	ServiceName string `json:"serviceName,omitempty"`
	// +optional
	PodTemplateHash string `json:"podTemplateHash,omitempty"`
}

// ExperimentConditionType is the type of an ExperimentCondition.
type ExperimentConditionType string

// Condition types an Experiment has.
const (
	ExperimentInvalidSpec ExperimentConditionType = "InvalidSpec"
	ExperimentProgressing ExperimentConditionType = "Progressing"
)

// ExperimentCondition has Argo's condition shape (lastUpdateTime, no
// observedGeneration).
type ExperimentCondition struct {
	Type               ExperimentConditionType `json:"type"`
	Status             corev1.ConditionStatus  `json:"status"`
	LastUpdateTime     metav1.Time             `json:"lastUpdateTime"`
	LastTransitionTime metav1.Time             `json:"lastTransitionTime"`
	Reason             string                  `json:"reason"`
	Message            string                  `json:"message"`
}

// ExperimentAnalysisRunStatus is the state of one of the Experiment's runs.
type ExperimentAnalysisRunStatus struct {
	// Name is the analysis's name in the spec.
	Name string `json:"name"`
	// AnalysisRun is the run's object name.
	AnalysisRun string        `json:"analysisRun"`
	Phase       AnalysisPhase `json:"phase"`
	// +optional
	Message string `json:"message,omitempty"`
}
