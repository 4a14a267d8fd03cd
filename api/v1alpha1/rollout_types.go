package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Field names, JSON tags and pointer-ness below mirror Argo Rollouts' published
// API so manifests and clients written for it keep working. Struct-valued
// fields use omitzero where Argo's omitempty had no effect, so an unset
// status or template is left out instead of being written as {}. Sub-objects that
// Switchyard does not act on (the traffic routers it does not drive,
// step plugins) are kept as raw JSON: the CRD accepts whatever
// Argo accepts and the values round-trip untouched.

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.HPAReplicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=ro,path=rollouts,scope=Namespaced
// +kubebuilder:printcolumn:name="Desired",type="integer",JSONPath=".spec.replicas",description="Number of desired pods"
// +kubebuilder:printcolumn:name="Current",type="integer",JSONPath=".status.replicas",description="Total number of non-terminated pods targeted by this rollout"
// +kubebuilder:printcolumn:name="Up-to-date",type="integer",JSONPath=".status.updatedReplicas",description="Total number of non-terminated pods targeted by this rollout that have the desired template spec"
// +kubebuilder:printcolumn:name="Available",type="integer",JSONPath=".status.availableReplicas",description="Total number of available pods (ready for at least minReadySeconds) targeted by this rollout"
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp",description="Time since resource was created"

// Rollout replaces a Deployment with a blue-green or canary update strategy.
type Rollout struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec RolloutSpec `json:"spec"`
	// +optional
	Status RolloutStatus `json:"status,omitzero"`
}

// +kubebuilder:object:root=true

// RolloutList is a list of Rollouts.
type RolloutList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Rollout `json:"items"`
}

// Checked by kube-apiserver at apply time (see internal/validation).
// +kubebuilder:validation:XValidation:rule="has(self.strategy) && (has(self.strategy.blueGreen) || has(self.strategy.canary))",message="one of blueGreen or canary must be set",fieldPath=".strategy",reason="FieldValueRequired"
// +kubebuilder:validation:XValidation:rule="has(self.workloadRef) || has(self.template)",message="one of template or workloadRef must be set",fieldPath=".template",reason="FieldValueRequired"
// +kubebuilder:validation:XValidation:rule="has(self.workloadRef) || !has(self.template) || (has(self.template.spec) && has(self.template.spec.containers) && size(self.template.spec.containers) > 0)",message="at least one container is required",fieldPath=".template.spec.containers",reason="FieldValueRequired"
// +kubebuilder:validation:XValidation:rule="!has(self.workloadRef) || !has(self.template) || ((!has(self.template.metadata) || ((!has(self.template.metadata.labels) || size(self.template.metadata.labels) == 0) && (!has(self.template.metadata.annotations) || size(self.template.metadata.annotations) == 0))) && (!has(self.template.spec) || !has(self.template.spec.containers) || size(self.template.spec.containers) == 0))",message="template must be empty for workload reference rollout",fieldPath=".template"
// +kubebuilder:validation:XValidation:rule="has(self.workloadRef) || has(self.selector)",message="a selector matching the template labels is required",fieldPath=".selector",reason="FieldValueRequired"
// +kubebuilder:validation:XValidation:rule="!has(self.selector) || (has(self.selector.matchLabels) && size(self.selector.matchLabels) > 0) || (has(self.selector.matchExpressions) && size(self.selector.matchExpressions) > 0)",message="this rollout is selecting all pods; a non-empty selector is required",fieldPath=".selector"
// +kubebuilder:validation:XValidation:rule="has(self.workloadRef) || !has(self.template) || !has(self.selector) || !has(self.selector.matchLabels) || (has(self.template.metadata) && has(self.template.metadata.labels) ? self.selector.matchLabels.all(k, k in self.template.metadata.labels && self.template.metadata.labels[k] == self.selector.matchLabels[k]) : size(self.selector.matchLabels) == 0)",message="`selector` does not match template `labels`",fieldPath=".template.metadata.labels"
// +kubebuilder:validation:XValidation:rule="!has(self.minReadySeconds) || self.minReadySeconds >= 0",message="must be greater than or equal to 0",fieldPath=".minReadySeconds"
// +kubebuilder:validation:XValidation:rule="!has(self.revisionHistoryLimit) || self.revisionHistoryLimit >= 0",message="must be greater than or equal to 0",fieldPath=".revisionHistoryLimit"
// +kubebuilder:validation:XValidation:rule="(has(self.progressDeadlineSeconds) ? self.progressDeadlineSeconds : 600) > (has(self.minReadySeconds) ? self.minReadySeconds : 0)",message="must be greater than minReadySeconds",fieldPath=".progressDeadlineSeconds"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy) || !has(self.strategy.blueGreen) || !has(self.strategy.blueGreen.scaleDownDelayRevisionLimit) || self.strategy.blueGreen.scaleDownDelayRevisionLimit <= (has(self.revisionHistoryLimit) ? self.revisionHistoryLimit : 10)",message="must not be greater than revisionHistoryLimit",fieldPath=".strategy.blueGreen.scaleDownDelayRevisionLimit"

// RolloutSpec is the desired state of a Rollout.
type RolloutSpec struct {
	// Replicas is a pointer so an explicit 0 differs from "unset" (default 1).
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// +optional
	Selector *metav1.LabelSelector `json:"selector"`
	// Template is a value, not a pointer, as in Argo; it is empty when
	// workloadRef is used instead, and then omitted when marshalled so a
	// written-back object does not carry a template without containers.
	// +optional
	Template corev1.PodTemplateSpec `json:"template,omitzero"`
	// +optional
	WorkloadRef *ObjectRef `json:"workloadRef,omitempty"`
	// +optional
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`
	// +optional
	RollbackWindow *RollbackWindowSpec `json:"rollbackWindow,omitempty"`
	// +optional
	Strategy RolloutStrategy `json:"strategy"`
	// +optional
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`
	// +optional
	Paused bool `json:"paused,omitempty"`
	// +optional
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
	// +optional
	ProgressDeadlineAbort bool `json:"progressDeadlineAbort,omitempty"`
	// RestartAt asks for every pod created before this time to be replaced.
	// +optional
	RestartAt *metav1.Time `json:"restartAt,omitempty"`
	// +optional
	Analysis *AnalysisRunStrategy `json:"analysis,omitempty"`
}

// Checked by kube-apiserver at apply time (see internal/validation).
// +kubebuilder:validation:XValidation:rule="has(self.name) && self.name != ''",message="the referenced workload's name is required",fieldPath=".name",reason="FieldValueRequired"
// +kubebuilder:validation:XValidation:rule="has(self.kind) && (self.kind == 'PodTemplate' ? (!has(self.apiVersion) || !self.apiVersion.contains('/') || self.apiVersion.startsWith('/')) : ((self.kind == 'Deployment' || self.kind == 'ReplicaSet') && has(self.apiVersion) && self.apiVersion.startsWith('apps/')))",message="workload of this type is not supported: use an apps Deployment or ReplicaSet, or a core PodTemplate"

// ObjectRef points at a workload (Deployment, ReplicaSet, PodTemplate) whose
// pod template the Rollout uses.
type ObjectRef struct {
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// +optional
	Kind string `json:"kind,omitempty"`
	// +optional
	Name string `json:"name,omitempty"`
	// ScaleDown is one of never, onsuccess, progressively.
	// +optional
	ScaleDown string `json:"scaleDown,omitempty"`
}

// Checked by kube-apiserver at apply time (see internal/validation).
// +kubebuilder:validation:XValidation:rule="!has(self.revisions) || self.revisions >= 0",message="must be greater than or equal to 0",fieldPath=".revisions"

// RollbackWindowSpec lets a rollback to one of the last Revisions skip steps.
type RollbackWindowSpec struct {
	// +optional
	Revisions int32 `json:"revisions,omitempty"`
}

// AnalysisRunStrategy limits how many finished AnalysisRuns and Experiments are kept.
type AnalysisRunStrategy struct {
	// +optional
	SuccessfulRunHistoryLimit *int32 `json:"successfulRunHistoryLimit,omitempty"`
	// +optional
	UnsuccessfulRunHistoryLimit *int32 `json:"unsuccessfulRunHistoryLimit,omitempty"`
}

// Checked by kube-apiserver at apply time (see internal/validation).
// +kubebuilder:validation:XValidation:rule="!(has(self.blueGreen) && has(self.canary))",message="Multiple Strategies can not be listed"

// RolloutStrategy holds exactly one of BlueGreen or Canary.
type RolloutStrategy struct {
	// +optional
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`
	// +optional
	Canary *CanaryStrategy `json:"canary,omitempty"`
}

// Checked by kube-apiserver at apply time (see internal/validation).
// +kubebuilder:validation:XValidation:rule="has(self.activeService) && self.activeService != ''",message="the Service to switch to the new version is required",fieldPath=".activeService",reason="FieldValueRequired"
// +kubebuilder:validation:XValidation:rule="!has(self.previewService) || !has(self.activeService) || self.previewService != self.activeService",message="activeService and previewService must name two different Services",fieldPath=".previewService"
// +kubebuilder:validation:XValidation:rule="!has(self.previewReplicaCount) || self.previewReplicaCount >= 0",message="must be greater than or equal to 0",fieldPath=".previewReplicaCount"
// +kubebuilder:validation:XValidation:rule="!has(self.autoPromotionSeconds) || self.autoPromotionSeconds >= 0",message="must be greater than or equal to 0",fieldPath=".autoPromotionSeconds"
// +kubebuilder:validation:XValidation:rule="!has(self.maxUnavailable) || (type(self.maxUnavailable) == int ? self.maxUnavailable >= 0 : self.maxUnavailable.matches('^([+]?[0-9]+|-0+|[0-9]+%)$'))",message="must be a non-negative integer or a percentage such as 25%",fieldPath=".maxUnavailable"
// +kubebuilder:validation:XValidation:rule="!has(self.scaleDownDelaySeconds) || self.scaleDownDelaySeconds >= 0",message="must be greater than or equal to 0",fieldPath=".scaleDownDelaySeconds"
// +kubebuilder:validation:XValidation:rule="!has(self.scaleDownDelayRevisionLimit) || self.scaleDownDelayRevisionLimit >= 0",message="must be greater than or equal to 0",fieldPath=".scaleDownDelayRevisionLimit"
// +kubebuilder:validation:XValidation:rule="!has(self.abortScaleDownDelaySeconds) || self.abortScaleDownDelaySeconds >= 0",message="must be greater than or equal to 0",fieldPath=".abortScaleDownDelaySeconds"

// BlueGreenStrategy switches an active Service from the old to the new
// ReplicaSet in one step, optionally after a preview phase.
type BlueGreenStrategy struct {
	// ActiveService is required by Argo; it is left optional in the schema so
	// a missing value surfaces as an InvalidSpec condition with a clear message.
	// +optional
	ActiveService string `json:"activeService"`
	// +optional
	PreviewService string `json:"previewService,omitempty"`
	// PreviewReplicaCount defaults to spec.replicas.
	// +optional
	PreviewReplicaCount *int32 `json:"previewReplicaCount,omitempty"`
	// AutoPromotionEnabled defaults to true, hence the pointer.
	// +optional
	AutoPromotionEnabled *bool `json:"autoPromotionEnabled,omitempty"`
	// +optional
	AutoPromotionSeconds int32 `json:"autoPromotionSeconds,omitempty"`
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	// +optional
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// +optional
	ScaleDownDelayRevisionLimit *int32 `json:"scaleDownDelayRevisionLimit,omitempty"`
	// +optional
	PrePromotionAnalysis *RolloutAnalysis `json:"prePromotionAnalysis,omitempty"`
	// +optional
	AntiAffinity *AntiAffinity `json:"antiAffinity,omitempty"`
	// +optional
	PostPromotionAnalysis *RolloutAnalysis `json:"postPromotionAnalysis,omitempty"`
	// +optional
	PreviewMetadata *PodTemplateMetadata `json:"previewMetadata,omitempty"`
	// +optional
	ActiveMetadata *PodTemplateMetadata `json:"activeMetadata,omitempty"`
	// AbortScaleDownDelaySeconds of 0 means never scale the preview down on abort.
	// +optional
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
}

// Checked by kube-apiserver at apply time (see internal/validation).
// +kubebuilder:validation:XValidation:rule="has(self.preferredDuringSchedulingIgnoredDuringExecution) != has(self.requiredDuringSchedulingIgnoredDuringExecution)",message="AntiAffinity must have exactly one strategy listed"

// AntiAffinity asks for pods of the new ReplicaSet to avoid nodes running the old one.
type AntiAffinity struct {
	// +optional
	PreferredDuringSchedulingIgnoredDuringExecution *PreferredDuringSchedulingIgnoredDuringExecution `json:"preferredDuringSchedulingIgnoredDuringExecution,omitempty"`
	// +optional
	RequiredDuringSchedulingIgnoredDuringExecution *RequiredDuringSchedulingIgnoredDuringExecution `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// Checked by kube-apiserver at apply time (see internal/validation).
// +kubebuilder:validation:XValidation:rule="has(self.weight) && self.weight >= 1 && self.weight <= 100",message="must be between 1 and 100",fieldPath=".weight"

// PreferredDuringSchedulingIgnoredDuringExecution carries the anti-affinity weight (1-100).
type PreferredDuringSchedulingIgnoredDuringExecution struct {
	// +optional
	Weight int32 `json:"weight"`
}

// RequiredDuringSchedulingIgnoredDuringExecution has no fields; its presence selects the rule.
type RequiredDuringSchedulingIgnoredDuringExecution struct{}

// PodTemplateMetadata is extra labels and annotations for pods in a role
// (canary, stable, active, preview) while they hold that role.
type PodTemplateMetadata struct {
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Checked by kube-apiserver at apply time (see internal/validation).
// +kubebuilder:validation:XValidation:rule="!has(self.canaryService) || self.canaryService == '' || !has(self.stableService) || self.canaryService != self.stableService",message="canaryService and stableService must name two different Services",fieldPath=".stableService"
// +kubebuilder:validation:XValidation:rule="!has(self.maxSurge) || (type(self.maxSurge) == int ? self.maxSurge >= 0 : self.maxSurge.matches('^([+]?[0-9]+|-0+|[0-9]+%)$'))",message="must be a non-negative integer or a percentage such as 25%",fieldPath=".maxSurge"
// +kubebuilder:validation:XValidation:rule="!has(self.maxUnavailable) || (type(self.maxUnavailable) == int ? self.maxUnavailable >= 0 : self.maxUnavailable.matches('^([+]?[0-9]+|-0+|[0-9]+%)$'))",message="must be a non-negative integer or a percentage such as 25%",fieldPath=".maxUnavailable"
// +kubebuilder:validation:XValidation:rule="!has(self.maxSurge) || !has(self.maxUnavailable) || !(type(self.maxSurge) == int ? self.maxSurge == 0 : self.maxSurge.matches('^([+]?0+|-0+|0+%)$')) || !(type(self.maxUnavailable) == int ? self.maxUnavailable == 0 : self.maxUnavailable.matches('^([+]?0+|-0+|0+%)$'))",message="maxSurge and maxUnavailable can not both be 0",fieldPath=".maxSurge"
// +kubebuilder:validation:XValidation:rule="has(self.trafficRouting) || !has(self.scaleDownDelaySeconds)",message="can only be used with trafficRouting",fieldPath=".scaleDownDelaySeconds"
// +kubebuilder:validation:XValidation:rule="has(self.trafficRouting) || !has(self.steps) || self.steps.all(s, !has(s.setCanaryScale))",message="setCanaryScale requires trafficRouting to be set",fieldPath=".steps"
// +kubebuilder:validation:XValidation:rule="!has(self.steps) || (has(self.trafficRouting) && has(self.trafficRouting.maxTrafficWeight) ? self.steps.all(s, !has(s.setWeight) || s.setWeight <= self.trafficRouting.maxTrafficWeight) : self.steps.all(s, !has(s.setWeight) || s.setWeight <= 100))",message="a setWeight must not be greater than trafficRouting.maxTrafficWeight (100 by default)",fieldPath=".steps"
// +kubebuilder:validation:XValidation:rule="!has(self.scaleDownDelayRevisionLimit) || self.scaleDownDelayRevisionLimit >= 0",message="must be greater than or equal to 0",fieldPath=".scaleDownDelayRevisionLimit"
// +kubebuilder:validation:XValidation:rule="!has(self.abortScaleDownDelaySeconds) || self.abortScaleDownDelaySeconds >= 0",message="must be greater than or equal to 0",fieldPath=".abortScaleDownDelaySeconds"
// +kubebuilder:validation:XValidation:rule="!has(self.minPodsPerReplicaSet) || self.minPodsPerReplicaSet >= 0",message="must be greater than or equal to 0",fieldPath=".minPodsPerReplicaSet"

// CanaryStrategy shifts replicas (or traffic) to the new ReplicaSet in steps.
type CanaryStrategy struct {
	// +optional
	CanaryService string `json:"canaryService,omitempty"`
	// +optional
	StableService string `json:"stableService,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=1000
	Steps []CanaryStep `json:"steps,omitempty"`
	// +optional
	TrafficRouting *RolloutTrafficRouting `json:"trafficRouting,omitempty"`
	// MaxUnavailable rounds down when a percentage; defaults to 25%.
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
	// MaxSurge rounds up when a percentage; defaults to 25%.
	// +optional
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`
	// +optional
	Analysis *RolloutAnalysisBackground `json:"analysis,omitempty"`
	// +optional
	AntiAffinity *AntiAffinity `json:"antiAffinity,omitempty"`
	// +optional
	CanaryMetadata *PodTemplateMetadata `json:"canaryMetadata,omitempty"`
	// +optional
	StableMetadata *PodTemplateMetadata `json:"stableMetadata,omitempty"`
	// ScaleDownDelaySeconds applies only with trafficRouting.
	// +optional
	ScaleDownDelaySeconds *int32 `json:"scaleDownDelaySeconds,omitempty"`
	// +optional
	ScaleDownDelayRevisionLimit *int32 `json:"scaleDownDelayRevisionLimit,omitempty"`
	// AbortScaleDownDelaySeconds applies only with trafficRouting.
	// +optional
	AbortScaleDownDelaySeconds *int32 `json:"abortScaleDownDelaySeconds,omitempty"`
	// +optional
	DynamicStableScale bool `json:"dynamicStableScale,omitempty"`
	// +optional
	PingPong *PingPongSpec `json:"pingPong,omitempty"`
	// MinPodsPerReplicaSet applies only with trafficRouting.
	// +optional
	MinPodsPerReplicaSet *int32 `json:"minPodsPerReplicaSet,omitempty"`
	// +optional
	ReplicaProgressThreshold *ReplicaProgressThreshold `json:"replicaProgressThreshold,omitempty"`
}

// PingPongSpec names the two Services that alternate as stable and canary.
type PingPongSpec struct {
	// +optional
	PingService string `json:"pingService"`
	// +optional
	PongService string `json:"pongService"`
}

// ReplicaProgressThresholdType says how ReplicaProgressThreshold.Value is read.
type ReplicaProgressThresholdType string

const (
	// ProgressTypePercentage reads Value as a percentage of the desired replicas.
	ProgressTypePercentage ReplicaProgressThresholdType = "Percent"
	// ProgressTypePod reads Value as a pod count.
	ProgressTypePod ReplicaProgressThresholdType = "Pod"
)

// Checked by kube-apiserver at apply time (see internal/validation).
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'Percent' || !has(self.value) || (self.value >= 0 && self.value <= 100)",message="must be between 0 and 100 for type Percent",fieldPath=".value"

// ReplicaProgressThreshold lets a step complete once enough canary pods are available.
type ReplicaProgressThreshold struct {
	// +optional
	Type ReplicaProgressThresholdType `json:"type"`
	// +optional
	Value int32 `json:"value"`
}

// RolloutTrafficRouting configures the traffic routers that shift the canary
// weight. Istio, NGINX and ALB are typed because Switchyard drives them; the
// routers it does not drive (SMI, Ambassador, App Mesh, Traefik, APISIX) stay
// raw JSON, refused by validation with a message naming them. Plugins map a
// plugin name to its own configuration, which the plugin's implementation
// parses (the Gateway API one lives in internal/trafficrouting/gatewayapi).
type RolloutTrafficRouting struct {
	// +optional
	Istio *IstioTrafficRouting `json:"istio,omitempty"`
	// +optional
	Nginx *NginxTrafficRouting `json:"nginx,omitempty"`
	// +optional
	ALB *ALBTrafficRouting `json:"alb,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	SMI *apiextensionsv1.JSON `json:"smi,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Ambassador *apiextensionsv1.JSON `json:"ambassador,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	AppMesh *apiextensionsv1.JSON `json:"appMesh,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Traefik *apiextensionsv1.JSON `json:"traefik,omitempty"`
	// +optional
	ManagedRoutes []ManagedRoute `json:"managedRoutes,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Apisix *apiextensionsv1.JSON `json:"apisix,omitempty"`
	// Plugins maps a traffic-router plugin name to its configuration.
	// +optional
	Plugins map[string]apiextensionsv1.JSON `json:"plugins,omitempty"`
	// MaxTrafficWeight is the total weight (default 100); only NGINX and
	// plugins accept another value.
	// +optional
	MaxTrafficWeight *int32 `json:"maxTrafficWeight,omitempty"`
}

// NginxTrafficRouting drives the NGINX Ingress controller through a canary
// Ingress created beside each stable Ingress.
type NginxTrafficRouting struct {
	// AnnotationPrefix defaults to nginx.ingress.kubernetes.io.
	// +optional
	AnnotationPrefix string `json:"annotationPrefix,omitempty"`
	// StableIngress and StableIngresses are exclusive: exactly one is set.
	// +optional
	StableIngress string `json:"stableIngress,omitempty"`
	// +optional
	StableIngresses []string `json:"stableIngresses,omitempty"`
	// AdditionalIngressAnnotations get the annotation prefix prepended.
	// +optional
	AdditionalIngressAnnotations map[string]string `json:"additionalIngressAnnotations,omitempty"`
	// CanaryIngressAnnotations are copied verbatim onto the canary Ingress.
	// +optional
	CanaryIngressAnnotations map[string]string `json:"canaryIngressAnnotations,omitempty"`
}

// ALBTrafficRouting drives the AWS Load Balancer Controller through the
// actions and conditions annotations of one or more Ingresses.
type ALBTrafficRouting struct {
	// Ingress and Ingresses are exclusive: exactly one is set.
	// +optional
	Ingress string `json:"ingress,omitempty"`
	// +optional
	Ingresses []string `json:"ingresses,omitempty"`
	// ServicePort is the port the forward action sends traffic to.
	// +optional
	ServicePort int32 `json:"servicePort"`
	// RootService is the Service whose action annotation carries the
	// weights; it defaults to the stable Service.
	// +optional
	RootService string `json:"rootService,omitempty"`
	// AnnotationPrefix defaults to alb.ingress.kubernetes.io.
	// +optional
	AnnotationPrefix string `json:"annotationPrefix,omitempty"`
	// +optional
	StickinessConfig *StickinessConfig `json:"stickinessConfig,omitempty"`
}

// StickinessConfig is the target-group stickiness of the ALB forward action.
type StickinessConfig struct {
	// +optional
	Enabled bool `json:"enabled"`
	// DurationSeconds is 1..604800 when enabled.
	// +optional
	DurationSeconds int64 `json:"durationSeconds"`
}

// IstioTrafficRouting drives Istio VirtualServices and, for subset-level
// splitting, a DestinationRule.
type IstioTrafficRouting struct {
	// VirtualService and VirtualServices are exclusive: exactly one is set.
	// +optional
	VirtualService *IstioVirtualService `json:"virtualService,omitempty"`
	// +optional
	DestinationRule *IstioDestinationRule `json:"destinationRule,omitempty"`
	// +optional
	VirtualServices []IstioVirtualService `json:"virtualServices,omitempty"`
}

// IstioVirtualService names a VirtualService and the routes in it to weight.
type IstioVirtualService struct {
	// Name is "name" or "name.namespace".
	// +optional
	Name string `json:"name"`
	// Routes are HTTP route names; empty means the VirtualService's only
	// HTTP route (when no TLS or TCP routes are listed either).
	// +optional
	Routes []string `json:"routes,omitempty"`
	// +optional
	TLSRoutes []TLSRoute `json:"tlsRoutes,omitempty"`
	// +optional
	TCPRoutes []TCPRoute `json:"tcpRoutes,omitempty"`
}

// TLSRoute picks the TLS route whose match has this port and SNI hosts.
type TLSRoute struct {
	// +optional
	Port int64 `json:"port,omitempty"`
	// +optional
	SNIHosts []string `json:"sniHosts,omitempty"`
}

// TCPRoute picks the TCP route whose match has this port.
type TCPRoute struct {
	// +optional
	Port int64 `json:"port,omitempty"`
}

// IstioDestinationRule names the DestinationRule whose canary and stable
// subsets are labelled with the ReplicaSets' pod-template hashes.
type IstioDestinationRule struct {
	// +optional
	Name string `json:"name"`
	// +optional
	CanarySubsetName string `json:"canarySubsetName"`
	// +optional
	StableSubsetName string `json:"stableSubsetName"`
	// AdditionalSubsetNames are subsets whose weights are left as they are.
	// +optional
	AdditionalSubsetNames []string `json:"additionalSubsetNames,omitempty"`
}

// ManagedRoute names a route the traffic router manages; list order is the
// precedence in the router.
type ManagedRoute struct {
	// +optional
	Name string `json:"name"`
}

// Checked by kube-apiserver at apply time (see internal/validation).
// +kubebuilder:validation:XValidation:rule="[has(self.setWeight), has(self.pause), has(self.setCanaryScale), has(self.analysis), has(self.experiment), has(self.plugin), has(self.setHeaderRoute), has(self.setMirrorRoute)].filter(x, x).size() == 1",message="a step must set exactly one of setWeight, pause, setCanaryScale, analysis, experiment, plugin, setHeaderRoute, setMirrorRoute"
// +kubebuilder:validation:XValidation:rule="!has(self.setWeight) || self.setWeight >= 0",message="must be between 0 and 100",fieldPath=".setWeight"

// CanaryStep is one step of a canary update. Exactly one action must be set.
type CanaryStep struct {
	// +optional
	SetWeight *int32 `json:"setWeight,omitempty"`
	// +optional
	Pause *RolloutPause `json:"pause,omitempty"`
	// +optional
	Experiment *RolloutExperimentStep `json:"experiment,omitempty"`
	// +optional
	Analysis *RolloutAnalysis `json:"analysis,omitempty"`
	// +optional
	SetCanaryScale *SetCanaryScale `json:"setCanaryScale,omitempty"`
	// +optional
	SetHeaderRoute *SetHeaderRoute `json:"setHeaderRoute,omitempty"`
	// +optional
	SetMirrorRoute *SetMirrorRoute `json:"setMirrorRoute,omitempty"`
	// +optional
	Plugin *PluginStep `json:"plugin,omitempty"`
}

// RolloutExperimentStep runs an Experiment as a canary step. Field order,
// omitempty and the always-written structs (analysisRunMetadata, a
// template's metadata) are Argo's: the canary step hash is computed over
// this JSON.
type RolloutExperimentStep struct {
	Templates []RolloutExperimentTemplate `json:"templates"`
	// +optional
	Duration DurationString `json:"duration,omitempty"`
	// +optional
	Analyses []RolloutExperimentStepAnalysisTemplateRef `json:"analyses,omitempty"`
	// +optional
	DryRun []DryRun `json:"dryRun,omitempty"`
	// +optional
	AnalysisRunMetadata AnalysisRunMetadata `json:"analysisRunMetadata,omitempty"`
}

// ReplicaSetSpecRef names the ReplicaSet an experiment template copies.
type ReplicaSetSpecRef string

// Experiment template sources.
const (
	CanarySpecRef ReplicaSetSpecRef = "canary"
	StableSpecRef ReplicaSetSpecRef = "stable"
)

// RolloutExperimentTemplate is one ReplicaSet of a step's Experiment, made
// from the stable or canary pod template.
type RolloutExperimentTemplate struct {
	Name    string            `json:"name"`
	SpecRef ReplicaSetSpecRef `json:"specRef"`
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// +optional
	Metadata PodTemplateMetadata `json:"metadata,omitempty"`
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// +optional
	Weight *int32 `json:"weight,omitempty"`
	// +optional
	Service *TemplateService `json:"service,omitempty"`
}

// RolloutExperimentStepAnalysisTemplateRef is one analysis of a step's
// Experiment.
type RolloutExperimentStepAnalysisTemplateRef struct {
	Name         string `json:"name"`
	TemplateName string `json:"templateName"`
	// +optional
	ClusterScope bool `json:"clusterScope,omitempty"`
	// +optional
	Args []AnalysisRunArgument `json:"args,omitempty"`
	// +optional
	RequiredForCompletion bool `json:"requiredForCompletion,omitempty"`
}

// SetHeaderRoute sends requests matching every header of one of the match
// entries to the canary, whatever the weight. A step without match removes
// the route. Name must be listed in trafficRouting.managedRoutes.
type SetHeaderRoute struct {
	// +optional
	Name string `json:"name,omitempty"`
	// +optional
	Match []HeaderRoutingMatch `json:"match,omitempty"`
}

// HeaderRoutingMatch is one header condition.
type HeaderRoutingMatch struct {
	// +optional
	HeaderName string `json:"headerName"`
	// +optional
	HeaderValue *StringMatch `json:"headerValue"`
}

// SetMirrorRoute copies matching requests to the canary; the responses of the
// copies are discarded. A step without match removes the route. Name must be
// listed in trafficRouting.managedRoutes.
type SetMirrorRoute struct {
	// +optional
	Name string `json:"name"`
	// Match entries are ORed; the fields within one entry are ANDed.
	// +optional
	Match []RouteMatch `json:"match,omitempty"`
	// Percentage of the matching requests to mirror; defaults to 100.
	// +optional
	Percentage *int32 `json:"percentage,omitempty"`
}

// RouteMatch selects requests by method, path and headers.
type RouteMatch struct {
	// +optional
	Method *StringMatch `json:"method,omitempty"`
	// +optional
	Path *StringMatch `json:"path,omitempty"`
	// +optional
	Headers map[string]StringMatch `json:"headers,omitempty"`
}

// StringMatch matches a string exactly, by prefix or by regular expression;
// exactly one is set.
type StringMatch struct {
	// +optional
	Exact string `json:"exact,omitempty"`
	// +optional
	Prefix string `json:"prefix,omitempty"`
	// +optional
	Regex string `json:"regex,omitempty"`
}

// PluginStep runs a step plugin with an opaque configuration.
type PluginStep struct {
	// +optional
	Name string `json:"name"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	Config *apiextensionsv1.JSON `json:"config,omitempty"`
}

// Checked by kube-apiserver at apply time (see internal/validation).
// +kubebuilder:validation:XValidation:rule="!has(self.duration) || (type(self.duration) == int ? self.duration >= 0 : size(self.duration) > 0)",message="must be whole seconds or a duration such as 30s, 5m or 1h, and not negative",fieldPath=".duration"

// RolloutPause stops the canary; without a duration it waits for a promote.
type RolloutPause struct {
	// Duration is whole seconds (int or numeric string) or a Go duration
	// string such as "30s", "5m", "1h". See ParsePauseDuration.
	// +optional
	Duration *intstr.IntOrString `json:"duration,omitempty"`
}

// Checked by kube-apiserver at apply time (see internal/validation).
// +kubebuilder:validation:XValidation:rule="!has(self.weight) || (self.weight >= 0 && self.weight <= 100)",message="must be between 0 and 100",fieldPath=".weight"
// +kubebuilder:validation:XValidation:rule="!has(self.replicas) || self.replicas >= 0",message="must be greater than or equal to 0",fieldPath=".replicas"

// SetCanaryScale sizes the canary ReplicaSet independently of the traffic weight.
type SetCanaryScale struct {
	// +optional
	Weight *int32 `json:"weight,omitempty"`
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// MatchTrafficWeight cancels an earlier Weight or Replicas.
	// +optional
	MatchTrafficWeight bool `json:"matchTrafficWeight,omitempty"`
}

// RolloutAnalysisBackground is an analysis that runs alongside the steps.
type RolloutAnalysisBackground struct {
	RolloutAnalysis `json:",inline"`
	// +optional
	StartingStep *int32 `json:"startingStep,omitempty"`
}

// RolloutAnalysis describes the AnalysisRun to create from templates.
type RolloutAnalysis struct {
	// +optional
	Templates []RolloutAnalysisTemplate `json:"templates,omitempty"`
	// +optional
	Args []AnalysisRunArgument `json:"args,omitempty"`
	// +optional
	DryRun []DryRun `json:"dryRun,omitempty"`
	// +optional
	MeasurementRetention []MeasurementRetention `json:"measurementRetention,omitempty"`
	// AnalysisRunMetadata is marshalled even when empty ("{}"), as Argo's
	// struct is: the canary step hash is computed over this JSON.
	// +optional
	AnalysisRunMetadata AnalysisRunMetadata `json:"analysisRunMetadata,omitempty"`
}

// RolloutAnalysisTemplate references an AnalysisTemplate or ClusterAnalysisTemplate.
type RolloutAnalysisTemplate struct {
	// +optional
	TemplateName string `json:"templateName"`
	// ClusterScope is a pointer, as in Argo: an explicit false is kept, and
	// it changes the canary step hash.
	// +optional
	ClusterScope *bool `json:"clusterScope,omitempty"`
}

// AnalysisRunArgument is one argument passed to the AnalysisRun.
type AnalysisRunArgument struct {
	// +optional
	Name string `json:"name"`
	// +optional
	Value string `json:"value,omitempty"`
	// ValueFrom is the same type AnalysisRun args use; in a Rollout,
	// podTemplateHashValue and fieldRef are resolved when the run is created.
	// +optional
	ValueFrom *ValueFrom `json:"valueFrom,omitempty"`
}

// DryRun marks a metric whose failures do not fail the analysis.
type DryRun struct {
	// +optional
	MetricName string `json:"metricName"`
}

// MeasurementRetention caps the measurements kept for a metric.
type MeasurementRetention struct {
	// +optional
	MetricName string `json:"metricName"`
	// +optional
	Limit int32 `json:"limit"`
}

// AnalysisRunMetadata is extra labels and annotations for created AnalysisRuns.
type AnalysisRunMetadata struct {
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PauseReason says why the controller paused a Rollout.
type PauseReason string

// PauseCondition records a controller pause and when it began.
type PauseCondition struct {
	Reason    PauseReason `json:"reason"`
	StartTime metav1.Time `json:"startTime"`
}

// RolloutPhase is the summary state clients (Argo CD, the CLI) display.
type RolloutPhase string

// RolloutConditionType is the type of a RolloutCondition.
type RolloutConditionType string

// RolloutCondition is Argo's condition shape: it has lastUpdateTime and no
// observedGeneration, unlike metav1.Condition.
type RolloutCondition struct {
	Type   RolloutConditionType   `json:"type"`
	Status corev1.ConditionStatus `json:"status"`
	// +optional
	LastUpdateTime metav1.Time `json:"lastUpdateTime"`
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime"`
	// +optional
	Reason string `json:"reason"`
	// +optional
	Message string `json:"message"`
}

// RolloutStatus is the observed state of a Rollout.
type RolloutStatus struct {
	// Abort is set by clients (kubectl argo rollouts abort) to cancel the update.
	// +optional
	Abort bool `json:"abort,omitempty"`
	// PauseConditions are added by the controller and cleared by clients to resume.
	// +optional
	PauseConditions []PauseCondition `json:"pauseConditions,omitempty"`
	// ControllerPause stays true after clients clear PauseConditions, which is
	// how the controller tells "resumed by a user" from "never paused".
	// +optional
	ControllerPause bool `json:"controllerPause,omitempty"`
	// +optional
	AbortedAt *metav1.Time `json:"abortedAt,omitempty"`
	// +optional
	CurrentPodHash string `json:"currentPodHash,omitempty"`
	// +optional
	CurrentStepHash string `json:"currentStepHash,omitempty"`
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`
	// +optional
	CurrentStepIndex *int32 `json:"currentStepIndex,omitempty"`
	// +optional
	CollisionCount *int32 `json:"collisionCount,omitempty"`
	// ObservedGeneration is a decimal string in Argo's API, not an integer.
	// +optional
	ObservedGeneration string `json:"observedGeneration,omitempty"`
	// +optional
	Conditions []RolloutCondition `json:"conditions,omitempty"`
	// +optional
	Canary CanaryStatus `json:"canary,omitzero"`
	// +optional
	BlueGreen BlueGreenStatus `json:"blueGreen,omitzero"`
	// HPAReplicas backs the scale subresource; the capitalised JSON name is Argo's.
	// +optional
	HPAReplicas int32 `json:"HPAReplicas,omitempty"`
	// Selector is the serialised label selector for the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`
	// +optional
	StableRS string `json:"stableRS,omitempty"`
	// +optional
	RestartedAt *metav1.Time `json:"restartedAt,omitempty"`
	// +optional
	PromoteFull bool `json:"promoteFull,omitempty"`
	// +optional
	Phase RolloutPhase `json:"phase,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// +optional
	WorkloadObservedGeneration string `json:"workloadObservedGeneration,omitempty"`
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Schemaless
	ALB *apiextensionsv1.JSON `json:"alb,omitempty"`
	// +optional
	ALBs []apiextensionsv1.JSON `json:"albs,omitempty"`
}

// BlueGreenStatus is the blue-green part of the status.
type BlueGreenStatus struct {
	// +optional
	PreviewSelector string `json:"previewSelector,omitempty"`
	// +optional
	ActiveSelector string `json:"activeSelector,omitempty"`
	// +optional
	ScaleUpPreviewCheckPoint bool `json:"scaleUpPreviewCheckPoint,omitempty"`
	// +optional
	PrePromotionAnalysisRunStatus *RolloutAnalysisRunStatus `json:"prePromotionAnalysisRunStatus,omitempty"`
	// +optional
	PostPromotionAnalysisRunStatus *RolloutAnalysisRunStatus `json:"postPromotionAnalysisRunStatus,omitempty"`
}

// CanaryStatus is the canary part of the status.
type CanaryStatus struct {
	// +optional
	CurrentStepAnalysisRunStatus *RolloutAnalysisRunStatus `json:"currentStepAnalysisRunStatus,omitempty"`
	// +optional
	CurrentBackgroundAnalysisRunStatus *RolloutAnalysisRunStatus `json:"currentBackgroundAnalysisRunStatus,omitempty"`
	// +optional
	CurrentExperiment string `json:"currentExperiment,omitempty"`
	// Weights is what a traffic router was told; Argo leaves it nil without trafficRouting.
	// +optional
	Weights *TrafficWeights `json:"weights,omitempty"`
	// +optional
	StablePingPong PingPongType `json:"stablePingPong,omitempty"`
	// +optional
	StepPluginStatuses []apiextensionsv1.JSON `json:"stepPluginStatuses,omitempty"`
	// ReplicaWeights is a Switchyard extension, absent from Argo's API (whose
	// clients ignore unknown fields). Without a traffic router the served
	// weight follows ready pod counts, so it can lag or round away from the
	// step's setWeight; this shows both side by side.
	// +optional
	ReplicaWeights *ReplicaWeights `json:"replicaWeights,omitempty"`
}

// ReplicaWeights compares the weight the current step asks for with the one
// the ready replica counts actually give. Switchyard extension.
type ReplicaWeights struct {
	// SetWeight is the canary percentage the current step asks for.
	SetWeight int32 `json:"setWeight"`
	// ActualWeight is 100 * ready canary pods / ready pods of the rollout.
	ActualWeight int32 `json:"actualWeight"`
}

// PingPongType says which of the ping and pong Services is currently stable.
type PingPongType string

// TrafficWeights is the traffic split last applied by a traffic router.
type TrafficWeights struct {
	Canary WeightDestination `json:"canary"`
	Stable WeightDestination `json:"stable"`
	// +optional
	Additional []WeightDestination `json:"additional,omitempty"`
	// +optional
	Verified *bool `json:"verified,omitempty"`
}

// WeightDestination is the weight sent to one Service / ReplicaSet.
type WeightDestination struct {
	Weight int32 `json:"weight"`
	// +optional
	ServiceName string `json:"serviceName,omitempty"`
	// +optional
	PodTemplateHash string `json:"podTemplateHash,omitempty"`
}

// AnalysisPhase is the phase of an AnalysisRun.
type AnalysisPhase string

// RolloutAnalysisRunStatus is a reference to an AnalysisRun and its phase.
type RolloutAnalysisRunStatus struct {
	Name   string        `json:"name"`
	Status AnalysisPhase `json:"status"`
	// +optional
	Message string `json:"message,omitempty"`
}
