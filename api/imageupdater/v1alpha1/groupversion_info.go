// Package v1alpha1 holds the images.switchyard.dev/v1alpha1 API: ImageUpdater,
// which watches container registries and writes new image digests or tags
// back to git (a kustomization), to an Argo CD Application, or directly to a
// workload in the cluster.
//
// Generated code is produced with (run from the repository root):
//
//	go tool controller-gen object paths=./api/imageupdater/...
//	go tool controller-gen crd:maxDescLen=0 paths=./api/imageupdater/... output:crd:artifacts:config=config/crd/bases
//
// +kubebuilder:object:generate=true
// +groupName=images.switchyard.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of the ImageUpdater API.
	GroupVersion = schema.GroupVersion{Group: "images.switchyard.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this package with a runtime.Scheme.
	// It is apimachinery's, so importing the API does not pull in
	// controller-runtime.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &ImageUpdater{}, &ImageUpdaterList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
