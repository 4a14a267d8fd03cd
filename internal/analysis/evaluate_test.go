package analysis

import (
	"math"
	"strings"
	"testing"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func TestEvaluateConditions(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(-1)
	num := 0.97
	var nilPtr *float64
	tests := []struct {
		name             string
		result           any
		success, failure string
		want             v1alpha1.AnalysisPhase
		// wantErr is a substring of the error; "" means no error.
		wantErr string
	}{
		// The outcome table.
		{name: "no conditions is Successful", result: 1.0, want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "success only, true", result: 0.97, success: "result >= 0.95", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "success only, false", result: 0.90, success: "result >= 0.95", want: v1alpha1.AnalysisPhaseFailed},
		{name: "failure only, true", result: 0.10, failure: "result > 0.05", want: v1alpha1.AnalysisPhaseFailed},
		{name: "failure only, false", result: 0.01, failure: "result > 0.05", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "both, success", result: 5.0, success: "result < 10", failure: "result > 50", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "both, failure", result: 60.0, success: "result < 10", failure: "result > 50", want: v1alpha1.AnalysisPhaseFailed},
		{name: "both false is Inconclusive", result: 20.0, success: "result < 10", failure: "result > 50", want: v1alpha1.AnalysisPhaseInconclusive},
		{name: "both true: failure wins", result: 20.0, success: "result > 10", failure: "result > 15", want: v1alpha1.AnalysisPhaseFailed},

		// Result shapes of the providers.
		{name: "prometheus vector", result: []float64{0.99, 0.5}, success: "result[0] >= 0.95 && len(result) == 2", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "prometheus vector, all", result: []float64{0.99, 0.96}, success: "all(result, {# >= 0.95})", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "empty vector guarded", result: []float64{}, success: "len(result) == 0 || result[0] >= 0.95", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "pointer is dereferenced", result: &num, success: "result > 0.9", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "web object", result: map[string]any{"status": "ok", "errors": 2.0}, success: `result.status == "ok" && result.errors < 3`, want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "web string", result: "ok", success: `result == "ok"`, want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "expr builtins", result: []float64{1, 2, 3}, success: "sum(result) == 6 && max(result) == 3 && mean(result) == 2", want: v1alpha1.AnalysisPhaseSuccessful},

		// NaN and infinities reach conditions as floats.
		{name: "NaN fails a comparison", result: nan, success: "result >= 0.95", want: v1alpha1.AnalysisPhaseFailed},
		{name: "NaN with both conditions is Inconclusive", result: nan, success: "result >= 0.95", failure: "result < 0.5", want: v1alpha1.AnalysisPhaseInconclusive},
		{name: "isNaN", result: nan, failure: "isNaN(result)", want: v1alpha1.AnalysisPhaseFailed},
		{name: "isNaN of a vector element", result: []float64{nan}, success: "!isNaN(result[0])", want: v1alpha1.AnalysisPhaseFailed},
		{name: "isInf either sign", result: inf, failure: "isInf(result)", want: v1alpha1.AnalysisPhaseFailed},
		{name: "isInf false", result: 3.0, failure: "isInf(result)", want: v1alpha1.AnalysisPhaseSuccessful},

		// Helpers.
		{name: "asInt of a string", result: "42", success: "asInt(result) == 42", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "asInt of a float truncates", result: 4.9, success: "asInt(result) == 4", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "asFloat of a string", result: "0.5", success: "asFloat(result) < 0.75", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "asInt of garbage is Error", result: "many", success: "asInt(result) > 1", want: v1alpha1.AnalysisPhaseError, wantErr: `could not evaluate successCondition "asInt(result) > 1": `},
		{name: "default when nil", result: nil, success: "default(result, 0) == 0", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "default when set", result: 3.0, success: "default(result, 0) == 3", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "default of a nil pointer", result: nilPtr, success: "default(result, 7) == 7", want: v1alpha1.AnalysisPhaseSuccessful},
		{name: "isNil of nil", result: nil, failure: "isNil(result)", want: v1alpha1.AnalysisPhaseFailed},
		{name: "isNil of an empty map", result: map[string]any{}, failure: "isNil(result)", want: v1alpha1.AnalysisPhaseFailed},
		{name: "isNil of a value", result: 1.0, failure: "isNil(result)", want: v1alpha1.AnalysisPhaseSuccessful},

		// Errors.
		{name: "does not compile", result: 1.0, success: "result >", want: v1alpha1.AnalysisPhaseError, wantErr: `could not evaluate successCondition "result >": `},
		{name: "not a bool", result: 1.0, failure: "result + 1", want: v1alpha1.AnalysisPhaseError, wantErr: `could not evaluate failureCondition "result + 1": expected bool, but got float64`},
		{name: "index of empty vector", result: []float64{}, success: "result[0] >= 0.95", want: v1alpha1.AnalysisPhaseError, wantErr: `could not evaluate successCondition "result[0] >= 0.95": ` + noDataMessage},
		{name: "field of nil", result: nil, success: "result.status == 1", want: v1alpha1.AnalysisPhaseError, wantErr: noDataMessage},
		{name: "unknown function", result: 1.0, success: "percentile95(result) > 1", want: v1alpha1.AnalysisPhaseError, wantErr: "percentile95"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EvaluateConditions(tt.result, tt.success, tt.failure)
			if got != tt.want {
				t.Errorf("phase %q, want %q (err %v)", got, tt.want, err)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckCondition(t *testing.T) {
	for cond, ok := range map[string]bool{
		"result[0] >= 0.95":                    true,
		"len(result) == 0 || isNaN(result[0])": true,
		`result.status == "ok"`:                true,
		"default(result, 0) > asInt(\"3\")":    true,
		"result >":                             false,
		"result[0 >= 1":                        false,
	} {
		if err := CheckCondition(cond); (err == nil) != ok {
			t.Errorf("CheckCondition(%q) = %v, want ok=%v", cond, err, ok)
		}
	}
}
