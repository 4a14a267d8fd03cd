package rolloutcorpus

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/validation"
	"github.com/switchyard-dev/switchyard/test/crdvalidation"
)

// Judgement is what the two validators say about one object.
type Judgement struct {
	// Refused holds kube-apiserver's errors; empty when it admits the object.
	Refused field.ErrorList
	// Stored is the object as kube-apiserver would store it (pruned,
	// defaulted), as JSON.
	Stored []byte
	// Rollout is Stored decoded strictly into the Go types; nil with
	// DecodeErr when it does not decode.
	Rollout   *v1alpha1.Rollout
	DecodeErr error
	// Invalid holds internal/validation's errors for Rollout: the
	// InvalidSpec condition the controller would set.
	Invalid field.ErrorList
}

// Judge asks kube-apiserver's validation (in process) and
// internal/validation about obj; obj is not changed.
func Judge(v *crdvalidation.Validator, obj map[string]any) Judgement {
	obj = DeepCopy(obj)
	j := Judgement{Refused: v.Admit(obj)}
	stored, err := json.Marshal(obj)
	if err != nil {
		j.DecodeErr = err
		return j
	}
	j.Stored = stored
	ro := &v1alpha1.Rollout{}
	if err := yaml.UnmarshalStrict(stored, ro); err != nil {
		j.DecodeErr = err
		return j
	}
	j.Rollout = ro
	j.Invalid = validation.Rollout(ro)
	return j
}

// Inconsistency returns why the judgement breaks the contract between the
// CRD and internal/validation, or "":
//
//   - what the CRD admits decodes into the Go types;
//   - what the CRD refuses, internal/validation reports as invalid too (when
//     the object decodes at all): the CRD never refuses a valid Rollout.
//
// An admitted object may still be invalid (InvalidSpec at reconcile time):
// rules that need other objects or are not expressible in CEL stay there.
func (j Judgement) Inconsistency() string {
	switch {
	case len(j.Refused) == 0 && j.DecodeErr != nil:
		return fmt.Sprintf("the CRD admits an object the Go types cannot decode: %v\n%s", j.DecodeErr, j.Stored)
	case len(j.Refused) > 0 && j.Rollout != nil && len(j.Invalid) == 0:
		return fmt.Sprintf("the CRD refuses a Rollout internal/validation accepts: %v\n%s", j.Refused.ToAggregate(), j.Stored)
	}
	return ""
}

// Names reports whether errs hold an error for want's field whose text
// contains want's message.
func Names(errs field.ErrorList, want Want) bool {
	for _, e := range errs {
		if e.Field == want.Field && strings.Contains(e.Error(), want.Message) {
			return true
		}
	}
	return false
}
