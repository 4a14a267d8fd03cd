// Package v1alpha1 serves argocd-image-updater's own API,
// argocd-image-updater.argoproj.io/v1alpha1 ImageUpdater, as its users
// write it: Applications chosen by name pattern and label selector, the
// images to track for them (or their argocd-image-updater.argoproj.io
// annotations), and the write-back to the Application or to git.
// Switchyard's image updater reconciles it with the same engine as its own
// images.switchyard.dev kind.
//
// +kubebuilder:object:generate=true
// +groupName=argocd-image-updater.argoproj.io
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of the API.
	GroupVersion = schema.GroupVersion{Group: "argocd-image-updater.argoproj.io", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this package with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &ImageUpdater{}, &ImageUpdaterList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
