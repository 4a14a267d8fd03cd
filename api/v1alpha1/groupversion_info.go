// Package v1alpha1 holds the argoproj.io/v1alpha1 Rollout API that Switchyard
// serves in place of Argo Rollouts. The JSON shape is the compatibility
// contract: any manifest Argo Rollouts accepts must decode here unchanged, so
// field names, types and quirks (a string status.observedGeneration, a
// RolloutCondition with lastUpdateTime) follow Argo, not Kubernetes habits.
//
// Generated code is produced with (run from the repository root;
// hack/generate.sh holds the same commands):
//
//	go tool controller-gen object paths=./api/...
//	go tool controller-gen crd:maxDescLen=0,generateEmbeddedObjectMeta=true paths=./api/... output:crd:artifacts:config=config/crd/bases
//	go run ./hack/crdpatch config/crd/bases/argoproj.io_rollouts.yaml
//
// maxDescLen=0 drops descriptions so the CRD, which embeds the whole
// PodTemplateSpec schema, stays far under the 262144-byte annotation limit of
// client-side `kubectl apply`. generateEmbeddedObjectMeta keeps the template's
// labels and annotations in the schema, and crdpatch marks
// spec.template.metadata x-kubernetes-preserve-unknown-fields (as Argo's CRD
// does) so keys like `creationTimestamp: null` are not rejected.
//
// +kubebuilder:object:generate=true
// +groupName=argoproj.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The scheme plumbing uses apimachinery directly rather than
// controller-runtime's scheme.Builder, which is deprecated so that API
// packages stay cheap to import (the kubectl plugin imports this one).
var (
	// GroupVersion is the group and version of the Rollout API.
	GroupVersion = schema.GroupVersion{Group: "argoproj.io", Version: "v1alpha1"}

	// SchemeBuilder collects the functions that add this package's types to a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Rollout{}, &RolloutList{},
		&AnalysisTemplate{}, &AnalysisTemplateList{},
		&ClusterAnalysisTemplate{}, &ClusterAnalysisTemplateList{},
		&AnalysisRun{}, &AnalysisRunList{},
		&Experiment{}, &ExperimentList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

// Resource turns an unqualified resource name into a group-qualified one, as
// API errors built with apierrors expect.
func Resource(resource string) schema.GroupResource {
	return GroupVersion.WithResource(resource).GroupResource()
}
