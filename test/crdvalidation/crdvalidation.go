// Package crdvalidation validates custom resources against a CRD in
// process, with kube-apiserver's own libraries and in the order its
// custom-resource registry applies them on create: prune unknown fields,
// drop non-nullable nulls, default, then the OpenAPI schema, embedded object
// metadata, list-type invariants, the scale subresource's replicas, and the
// x-kubernetes-validations CEL rules (skipped, as the server does, when an
// earlier error blocks them). It lets a fuzz test ask "would kube-apiserver
// accept this?" thousands of times a second; api/v1alpha1/crdtest checks
// that its answers match a real kube-apiserver.
package crdvalidation

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"

	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// Validator validates objects of a CRD's single served version.
type Validator struct {
	// CRD is the internal form of the CRD, as kube-apiserver validates it.
	CRD        *apiextensions.CustomResourceDefinition
	structural *structuralschema.Structural
	schema     apiservervalidation.SchemaValidator
	cel        *cel.Validator
	scale      *apiextensions.CustomResourceSubresourceScale
}

// Load reads a CRD manifest with exactly one version.
func Load(path string) (*Validator, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v1 apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(raw, &v1); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if len(v1.Spec.Versions) != 1 {
		return nil, fmt.Errorf("%s: want one version, got %d", path, len(v1.Spec.Versions))
	}
	// Conversion through the scheme applies the v1 defaults (as the server
	// does when the CRD is created) before converting to the internal form.
	scheme := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := apiextensions.AddToScheme(scheme); err != nil {
		return nil, err
	}
	scheme.Default(&v1)
	crd := &apiextensions.CustomResourceDefinition{}
	if err := scheme.Convert(&v1, crd, nil); err != nil {
		return nil, fmt.Errorf("convert %s: %w", path, err)
	}
	// The internal form keeps a schema and subresources shared by every
	// version at the top level.
	version := crd.Spec.Versions[0]
	validation, subresources := version.Schema, version.Subresources
	if validation == nil {
		validation = crd.Spec.Validation
	}
	if subresources == nil {
		subresources = crd.Spec.Subresources
	}
	if validation == nil || validation.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("%s has no schema", path)
	}
	props := validation.OpenAPIV3Schema
	structural, err := structuralschema.NewStructural(props)
	if err != nil {
		return nil, fmt.Errorf("%s: schema is not structural: %w", path, err)
	}
	schema, _, err := apiservervalidation.NewSchemaValidator(props)
	if err != nil {
		return nil, err
	}
	v := &Validator{
		CRD:        crd,
		structural: structural,
		schema:     schema,
		cel:        cel.NewValidator(structural, true, celconfig.PerCallLimit),
	}
	if subresources != nil {
		v.scale = subresources.Scale
	}
	return v, nil
}

// CheckCRD runs kube-apiserver's validation of the CRD itself: structural
// schema, CEL rules that compile, and their estimated cost within the
// per-rule and per-CRD budgets.
func (v *Validator) CheckCRD() field.ErrorList {
	return crdvalidation.ValidateCustomResourceDefinition(context.Background(), v.CRD)
}

// Admit runs what kube-apiserver does to obj on create and returns the
// errors it would refuse it with, or none; obj is left as it would be
// stored (pruned and defaulted).
func (v *Validator) Admit(obj map[string]any) field.ErrorList {
	pruning.PruneWithOptions(obj, v.structural, true, structuralschema.UnknownFieldPathOptions{})
	defaulting.PruneNonNullableNullsWithoutDefaults(obj, v.structural)
	defaulting.Default(obj, v.structural)

	var errs field.ErrorList
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj, v.schema)...)
	errs = append(errs, v.scaleErrors(obj)...)
	errs = append(errs, schemaobjectmeta.Validate(context.Background(), nil, obj, v.structural, false)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, v.structural, obj)...)
	if blocking(errs) {
		return append(errs, field.Invalid(nil, nil, "some validation rules were not checked because the object was invalid"))
	}
	celErrs, _ := v.cel.Validate(context.Background(), nil, v.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// scaleErrors: the scale subresource's spec replicas must be a
// non-negative int32, whatever the schema says.
func (v *Validator) scaleErrors(obj map[string]any) field.ErrorList {
	if v.scale == nil {
		return nil
	}
	var cur any = obj
	path := strings.Split(strings.TrimPrefix(v.scale.SpecReplicasPath, "."), ".")
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		if cur, ok = m[k]; !ok {
			return nil
		}
	}
	n, ok := cur.(int64)
	if !ok {
		return nil // the schema reports a wrong type
	}
	// The path is written as kube-apiserver writes it (".spec.replicas").
	switch {
	case n < 0:
		return field.ErrorList{field.Invalid(field.NewPath(v.scale.SpecReplicasPath), n, "should be a non-negative integer")}
	case n > math.MaxInt32:
		return field.ErrorList{field.Invalid(field.NewPath(v.scale.SpecReplicasPath), n, fmt.Sprintf("should be less than or equal to %v", math.MaxInt32))}
	}
	return nil
}

// blocking reports whether errs hold an error after which kube-apiserver
// does not run the CEL rules (their inputs could be missing or too large).
func blocking(errs field.ErrorList) bool {
	for _, e := range errs {
		switch e.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}
