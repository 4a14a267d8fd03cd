package analysis

import (
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/analysis/provider"
)

// Supported lists the providers Switchyard measures with.
var Supported = []string{provider.Prometheus, provider.Web, provider.Job}

// ValidateTemplateSpec checks a template as written: metric names,
// providers, conditions, durations and limits, and the dryRun and
// retention patterns. Values that still hold {{args.*}} are checked once
// a run resolves them. Each error's detail is the reference's message.
func ValidateTemplateSpec(spec *v1alpha1.AnalysisTemplateSpec, fldPath *field.Path) field.ErrorList {
	errs := validateMetrics(spec.Metrics, fldPath.Child("metrics"), false)
	errs = append(errs, validateRules(spec.DryRun, spec.MeasurementRetention, nil, fldPath)...)
	for i, ref := range spec.Templates {
		if ref.TemplateName == "" {
			errs = append(errs, field.Required(fldPath.Child("templates").Index(i).Child("templateName"), "templateName is required"))
		}
	}
	return errs
}

// ValidateRunSpec checks a run's metrics once args are substituted: the
// same checks as ValidateTemplateSpec, none skipped, plus that there is at
// least one metric and that every dryRun and retention rule matches one.
func ValidateRunSpec(metrics []v1alpha1.Metric, dryRun []v1alpha1.DryRun, retention []v1alpha1.MeasurementRetention, fldPath *field.Path) field.ErrorList {
	if len(metrics) == 0 {
		return field.ErrorList{field.Required(fldPath.Child("metrics"), "no metrics specified")}
	}
	errs := validateMetrics(metrics, fldPath.Child("metrics"), true)
	return append(errs, validateRules(dryRun, retention, metrics, fldPath)...)
}

// hasArgs reports whether s still holds an {{args.*}} tag.
func hasArgs(s string) bool { return argTag.MatchString(s) }

func validateMetrics(metrics []v1alpha1.Metric, path *field.Path, resolved bool) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i := range metrics {
		m := &metrics[i]
		p := path.Index(i)
		invalid := func(msg string, args ...any) {
			errs = append(errs, field.Invalid(p, m.Name, fmt.Sprintf(msg, args...)))
		}
		if m.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), "name is required"))
		}
		if seen[m.Name] {
			invalid("duplicate name '%s'", m.Name)
		}
		seen[m.Name] = true

		switch types := provider.TypeOf(&m.Provider); {
		case len(types) == 0:
			invalid("no provider specified")
		case len(types) > 1:
			invalid("multiple providers specified")
		case !supported(types[0]):
			invalid("provider %s is not supported by Switchyard (supported: %s)", types[0], strings.Join(Supported, ", "))
		}
		for _, c := range []struct{ name, expr string }{
			{"successCondition", m.SuccessCondition},
			{"failureCondition", m.FailureCondition},
		} {
			if c.expr == "" || (!resolved && hasArgs(c.expr)) {
				continue
			}
			if err := CheckCondition(c.expr); err != nil {
				invalid("%s %q does not parse: %s", c.name, c.expr, firstLine(err.Error()))
			}
		}
		if !resolved && metricHasArgs(m) {
			continue
		}
		r, err := rulesOf(m)
		if err != nil {
			invalid("%s", err.Error())
			continue
		}
		for _, msg := range limitProblems(m, r) {
			invalid("%s", msg)
		}
	}
	return errs
}

func metricHasArgs(m *v1alpha1.Metric) bool {
	for _, v := range []string{string(m.Interval), string(m.InitialDelay)} {
		if hasArgs(v) {
			return true
		}
	}
	for _, v := range []*intstr.IntOrString{m.Count, m.FailureLimit, m.InconclusiveLimit, m.ConsecutiveErrorLimit, m.ConsecutiveSuccessLimit} {
		if v != nil && hasArgs(v.StrVal) {
			return true
		}
	}
	return false
}

// limitProblems are the reference's rules on count and limits.
func limitProblems(m *v1alpha1.Metric, r rules) []string {
	var out []string
	if r.consecutiveSuccessLimit < 0 {
		out = append(out, "consecutiveSuccessLimit must be >= 0")
	}
	if r.failureLimit < -1 {
		out = append(out, "failureLimit must be >= 0, or -1 to be disabled")
	}
	if r.failureLimit == -1 && r.consecutiveSuccessLimit == 0 {
		out = append(out, "failureLimit and consecutiveSuccessLimit cannot both be disabled")
	}
	if r.inconclusiveLimit < 0 {
		out = append(out, "inconclusiveLimit must be >= 0")
	}
	if r.consecutiveErrorLimit < 0 {
		out = append(out, "consecutiveErrorLimit must be >= 0")
	}
	if m.Count != nil && r.count > 0 {
		switch {
		case r.failureLimit >= 0 && r.consecutiveSuccessLimit >= 0 && r.count < r.failureLimit+r.consecutiveSuccessLimit:
			out = append(out, fmt.Sprintf("count (%d) must be >= failureLimit + consecutiveSuccessLimit (%d + %d) if both >= 0", r.count, r.failureLimit, r.consecutiveSuccessLimit))
		case r.failureLimit < 0 && r.count < r.consecutiveSuccessLimit:
			out = append(out, "count must be >= consecutiveSuccessLimit")
		}
		if r.count < r.inconclusiveLimit {
			out = append(out, "count must be >= inconclusiveLimit")
		}
		if r.count > 1 && r.interval == 0 {
			out = append(out, "interval must be specified when count > 1")
		}
	}
	return out
}

// validateRules checks the dryRun and retention patterns (Go regular
// expressions, matched unanchored) and, when metrics is not nil, that each
// matches at least one metric.
func validateRules(dryRun []v1alpha1.DryRun, retention []v1alpha1.MeasurementRetention, metrics []v1alpha1.Metric, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	check := func(p *field.Path, pattern string) {
		if pattern == "" {
			errs = append(errs, field.Required(p, "metricName is required"))
			return
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			errs = append(errs, field.Invalid(p, pattern, fmt.Sprintf("not a regular expression: %v (use .* for every metric)", err)))
			return
		}
		if metrics == nil {
			return
		}
		for _, m := range metrics {
			if re.MatchString(m.Name) {
				return
			}
		}
		errs = append(errs, field.Invalid(p, pattern, "matches no metric"))
	}
	for i, r := range dryRun {
		check(path.Child("dryRun").Index(i).Child("metricName"), r.MetricName)
	}
	for i, r := range retention {
		check(path.Child("measurementRetention").Index(i).Child("metricName"), r.MetricName)
	}
	return errs
}

func supported(t string) bool {
	for _, s := range Supported {
		if s == t {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// specMessage renders validation errors as the run's message.
func specMessage(errs field.ErrorList) string {
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		if e.Type == field.ErrorTypeRequired && e.Field == "metrics" {
			parts = append(parts, e.Detail)
			continue
		}
		parts = append(parts, e.Field+": "+e.Detail)
	}
	return "Analysis spec invalid: " + strings.Join(parts, "; ")
}
