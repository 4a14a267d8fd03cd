package analysis

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// noDataMessage replaces the evaluation error when the provider returned
// nothing, so a template author sees why `result[0]` failed.
const noDataMessage = "metric result is nil or empty: no data returned from the metric provider"

// EvaluateConditions judges one provider result against a metric's
// successCondition and failureCondition, as the reference does: no
// condition at all is Successful; only one condition decides alone; with
// both, failure wins, and neither true is Inconclusive. A condition that
// does not compile, fails at run time or does not return a bool makes the
// measurement Error, with a message naming the condition.
func EvaluateConditions(result any, successCondition, failureCondition string) (v1alpha1.AnalysisPhase, error) {
	var success, failure bool
	if successCondition != "" {
		ok, err := EvaluateCondition(result, successCondition)
		if err != nil {
			return v1alpha1.AnalysisPhaseError, conditionError("successCondition", successCondition, result, err)
		}
		success = ok
	}
	if failureCondition != "" {
		ok, err := EvaluateCondition(result, failureCondition)
		if err != nil {
			return v1alpha1.AnalysisPhaseError, conditionError("failureCondition", failureCondition, result, err)
		}
		failure = ok
	}
	switch {
	case successCondition == "" && failureCondition == "":
		return v1alpha1.AnalysisPhaseSuccessful, nil
	case failureCondition != "" && failure:
		return v1alpha1.AnalysisPhaseFailed, nil
	case successCondition != "" && success:
		return v1alpha1.AnalysisPhaseSuccessful, nil
	case successCondition != "" && failureCondition != "":
		return v1alpha1.AnalysisPhaseInconclusive, nil
	case successCondition != "":
		return v1alpha1.AnalysisPhaseFailed, nil
	default:
		return v1alpha1.AnalysisPhaseSuccessful, nil
	}
}

func conditionError(field, condition string, result any, err error) error {
	if isEmpty(result) {
		return fmt.Errorf("could not evaluate %s %q: %s", field, condition, noDataMessage)
	}
	return fmt.Errorf("could not evaluate %s %q: %w", field, condition, err)
}

// EvaluateCondition runs one expression with `result` and the helper
// functions in scope; it must return a bool.
func EvaluateCondition(result any, condition string) (bool, error) {
	env := conditionEnv(result)
	program, err := expr.Compile(condition, expr.Env(env))
	if err != nil {
		return false, err
	}
	out, err := runProgram(program, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("expected bool, but got %T", out)
	}
	return b, nil
}

// CheckCondition reports whether condition at least parses, without a
// result to run it on; validation uses it to refuse a template whose
// condition can never be evaluated.
func CheckCondition(condition string) error {
	env := conditionEnv(nil)
	// Without a value, `result` must stay untyped: a nil in the
	// environment would type it as nil and reject result[0].
	delete(env, "result")
	_, err := expr.Compile(condition, expr.Env(env), expr.AllowUndefinedVariables())
	return err
}

func runProgram(program *vm.Program, env map[string]any) (out any, err error) {
	// Helper functions report bad input by panicking (as in the reference,
	// asInt("x") makes the measurement Error); expr recovers most panics,
	// this catches the rest.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return expr.Run(program, env)
}

// conditionEnv is what a condition sees: the provider's result (a pointer
// is dereferenced) and the reference's helper functions.
func conditionEnv(result any) map[string]any {
	result = deref(result)
	return map[string]any{
		"result":  result,
		"asInt":   asInt,
		"asFloat": asFloat,
		"isNaN":   isNaN,
		"isInf":   isInf,
		// isNil and default look at `result` whatever their argument is,
		// which is how the reference defines them.
		"isNil": func(any) bool { return isNil(result) },
		"default": func(_ any, fallback any) any {
			if isNil(result) {
				return fallback
			}
			return result
		},
	}
}

func deref(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		return rv.Elem().Interface()
	}
	return v
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil() || (rv.Kind() != reflect.Pointer && rv.Kind() != reflect.Interface && rv.Len() == 0)
	}
	return false
}

// isEmpty is "no data": nil, or an empty slice.
func isEmpty(v any) bool {
	v = deref(v)
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Slice && rv.Len() == 0
}

var errNotANumber = errors.New("not a number")

func asInt(in any) int64 {
	switch v := in.(type) {
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case int64:
		return v
	case float32:
		return int64(v)
	case float64:
		return int64(v)
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			panic(fmt.Errorf("asInt(%q): %w", v, errNotANumber))
		}
		return n
	}
	panic(fmt.Errorf("asInt() not supported on %T %v", in, in))
}

func asFloat(in any) float64 {
	switch v := in.(type) {
	case int:
		return float64(v)
	case int32:
		return float64(v)
	case int64:
		return float64(v)
	case float32:
		return float64(v)
	case float64:
		return v
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			panic(fmt.Errorf("asFloat(%q): %w", v, errNotANumber))
		}
		return f
	}
	panic(fmt.Errorf("asFloat() not supported on %T %v", in, in))
}

func isNaN(in any) bool { return math.IsNaN(asFloat(in)) }

func isInf(in any) bool { return math.IsInf(asFloat(in), 0) }
