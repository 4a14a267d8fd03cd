package cli

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// ExperimentGVR and AnalysisRunGVR are the Experiment and AnalysisRun
// resources, served by Switchyard's CRDs or Argo's.
var (
	ExperimentGVR  = v1alpha1.GroupVersion.WithResource("experiments")
	AnalysisRunGVR = v1alpha1.GroupVersion.WithResource("analysisruns")
)

// Decode converts an object as served into Switchyard's type T. It goes
// through JSON so the types' own (un)marshalling rules apply.
func Decode[T any](u *unstructured.Unstructured) (*T, error) {
	data, err := u.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	out := new(T)
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return out, nil
}
