package v1alpha1_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/switchyard-dev/switchyard/test/crdvalidation"
	"github.com/switchyard-dev/switchyard/test/rolloutcorpus"
)

const repoRoot = "../.."

func loadValidator(t testing.TB) *crdvalidation.Validator {
	t.Helper()
	v, err := crdvalidation.Load(crdPath)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCRDPassesAPIServerChecks runs kube-apiserver's own validation of the
// CRD: structural, every CEL rule compiles, and the rules' estimated cost
// fits the per-rule and per-CRD budgets.
func TestCRDPassesAPIServerChecks(t *testing.T) {
	for _, err := range loadValidator(t).CheckCRD() {
		t.Error(err)
	}
}

// TestValidCorpusAdmitted: every Rollout the reference accepts is admitted
// and decodes into the Go types. Without trafficRouting, internal/validation
// may only refuse fields Switchyard does not implement yet (Forbidden),
// nothing else; its traffic-routing rules are left to that feature's tests.
func TestValidCorpusAdmitted(t *testing.T) {
	v := loadValidator(t)
	docs, err := rolloutcorpus.Valid(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		t.Run(d.Name, func(t *testing.T) {
			j := rolloutcorpus.Judge(v, d.Object)
			if len(j.Refused) > 0 {
				t.Fatalf("refused: %v", j.Refused.ToAggregate())
			}
			if j.DecodeErr != nil {
				t.Fatalf("the Go types do not decode the admitted object: %v", j.DecodeErr)
			}
			if rolloutcorpus.Lookup(d.Object, "spec", "strategy", "canary", "trafficRouting") != nil {
				return
			}
			for _, e := range j.Invalid {
				if e.Type != field.ErrorTypeForbidden {
					t.Errorf("internal/validation refuses a valid Rollout: %v", e)
				}
			}
		})
	}
}

// TestInvalidCorpusRefused: every Rollout of the invalid corpus is refused,
// each refusal naming the field and message its want lines give, and
// internal/validation reports it as invalid too.
func TestInvalidCorpusRefused(t *testing.T) {
	v := loadValidator(t)
	docs, err := rolloutcorpus.Invalid(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		t.Run(d.Name, func(t *testing.T) {
			j := rolloutcorpus.Judge(v, d.Object)
			if len(j.Refused) == 0 {
				t.Fatal("admitted")
			}
			for _, want := range d.Wants {
				if !rolloutcorpus.Names(j.Refused, want) {
					t.Errorf("no error for %s containing %q in:\n%v", want.Field, want.Message, j.Refused.ToAggregate())
				}
			}
			if j.Rollout == nil {
				t.Fatalf("does not decode into the Go types: %v", j.DecodeErr)
			}
			if len(j.Invalid) == 0 {
				t.Error("internal/validation accepts it")
			}
		})
	}
}

// TestStepsBound: the CEL cost budget needs a bound on the number of
// steps; it is far above any real rollout.
func TestStepsBound(t *testing.T) {
	v := loadValidator(t)
	for _, n := range []int{1000, 1001} {
		var steps []any
		for range n {
			steps = append(steps, map[string]any{"setWeight": int64(1)})
		}
		ro, err := rolloutcorpus.Decode([]byte(`{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"x"},
			"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"metadata":{"labels":{"app":"a"}},"spec":{"containers":[{"name":"a","image":"a"}]}},"strategy":{"canary":{}}}}`))
		if err != nil {
			t.Fatal(err)
		}
		rolloutcorpus.Lookup(ro, "spec", "strategy", "canary").(map[string]any)["steps"] = steps
		errs := v.Admit(ro)
		if refused := len(errs) > 0; refused != (n > 1000) {
			t.Errorf("%d steps: refused=%v (%v)", n, refused, errs.ToAggregate())
		}
	}
}

// FuzzSpecMutations mutates the valid corpus (see rolloutcorpus.Mutate)
// and checks each result against the contract between the CRD and
// internal/validation: refused at apply time, or admitted and then valid
// or InvalidSpec; the CRD never refuses a Rollout internal/validation
// accepts, and whatever it admits decodes into the Go types. `go test` runs
// the seeds below; `go test -fuzz FuzzSpecMutations ./api/v1alpha1` explores.
func FuzzSpecMutations(f *testing.F) {
	v := loadValidator(f)
	docs, err := rolloutcorpus.Valid(repoRoot)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range rolloutcorpus.Seeds() {
		f.Add(seed.Doc, seed.Ops)
	}
	f.Fuzz(func(t *testing.T, doc uint8, ops []byte) {
		obj := rolloutcorpus.DeepCopy(docs[int(doc)%len(docs)].Object)
		applied := rolloutcorpus.Mutate(obj, ops)
		if why := rolloutcorpus.Judge(v, obj).Inconsistency(); why != "" {
			t.Fatalf("%s after %v:\n%s", docs[int(doc)%len(docs)].Name, applied, why)
		}
	})
}
