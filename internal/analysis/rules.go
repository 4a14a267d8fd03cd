package analysis

import (
	"fmt"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

// Defaults of the reference for a metric's limits.
const (
	DefaultConsecutiveErrorLimit = 4
	// DefaultMeasurementRetention is how many measurements a metric keeps
	// without a measurementRetention rule.
	DefaultMeasurementRetention = 10
	// ErrorRetryInterval is the wait after an Error measurement, whatever
	// the metric's interval.
	ErrorRetryInterval = 10 * time.Second
)

// rules are a metric's effective settings, read once its args are
// substituted: defaults applied, strings parsed.
type rules struct {
	// count is the number of counted measurements to take; 0 = unbounded.
	count                   int32
	interval, initialDelay  time.Duration
	failureLimit            int32
	inconclusiveLimit       int32
	consecutiveErrorLimit   int32
	consecutiveSuccessLimit int32
}

// rulesOf reads a metric's settings. It fails on what validation reports
// (unparsable durations and numbers), naming the field.
func rulesOf(m *v1alpha1.Metric) (rules, error) {
	var r rules
	var err error
	if r.interval, err = parseDuration(m.Interval); err != nil {
		return r, fmt.Errorf("invalid interval string: %w", err)
	}
	if r.initialDelay, err = parseDuration(m.InitialDelay); err != nil {
		// "startDelay" is the reference's word for initialDelay here.
		return r, fmt.Errorf("invalid startDelay string: %w", err)
	}
	for _, f := range []struct {
		name string
		v    *intstr.IntOrString
		def  int32
		out  *int32
	}{
		{"count", m.Count, 0, &r.count},
		{"failureLimit", m.FailureLimit, 0, &r.failureLimit},
		{"inconclusiveLimit", m.InconclusiveLimit, 0, &r.inconclusiveLimit},
		{"consecutiveErrorLimit", m.ConsecutiveErrorLimit, DefaultConsecutiveErrorLimit, &r.consecutiveErrorLimit},
		{"consecutiveSuccessLimit", m.ConsecutiveSuccessLimit, 0, &r.consecutiveSuccessLimit},
	} {
		if *f.out, err = intOrDefault(f.v, f.def); err != nil {
			return r, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	// No count and no interval: measure once. No count with an interval:
	// measure until a limit decides (or the run is terminated).
	if r.count == 0 && r.interval == 0 {
		r.count = 1
	}
	return r, nil
}

func parseDuration(d v1alpha1.DurationString) (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	return time.ParseDuration(string(d))
}

// intOrDefault reads an int-or-string. Unlike the reference, which reads a
// non-numeric string as 0, a string that is not an integer is an error:
// a limit of "{{args.limit}}" given "three" must not silently mean 0.
func intOrDefault(v *intstr.IntOrString, def int32) (int32, error) {
	if v == nil {
		return def, nil
	}
	if v.Type == intstr.Int {
		return v.IntVal, nil
	}
	n, err := strconv.ParseInt(v.StrVal, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v.StrVal)
	}
	return int32(n), nil
}

// RunsIndefinitely reports whether a metric, as written, never stops by
// itself: an interval and no count (or a count of 0). A Rollout refuses
// such a metric outside background analysis. A count that still holds
// {{args.*}} is taken as bounded; the run checks it once resolved.
func RunsIndefinitely(m *v1alpha1.Metric) bool {
	if m.Interval == "" {
		return false
	}
	if m.Count == nil {
		return true
	}
	if m.Count.Type == intstr.Int {
		return m.Count.IntVal == 0
	}
	return m.Count.StrVal == "0" || m.Count.StrVal == ""
}
