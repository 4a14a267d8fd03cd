package v1alpha1

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// ParsePauseDuration reads a canary pause duration. Argo accepts an integer
// number of seconds (as a JSON number or a numeric string) or a Go duration
// string such as "30s", "5m" or "1h". Negative values are rejected.
func ParsePauseDuration(d intstr.IntOrString) (time.Duration, error) {
	var dur time.Duration
	switch d.Type {
	case intstr.Int:
		dur = time.Duration(d.IntVal) * time.Second
	case intstr.String:
		if d.StrVal == "" {
			return 0, errors.New("empty duration")
		}
		if secs, err := strconv.ParseInt(d.StrVal, 10, 32); err == nil {
			dur = time.Duration(secs) * time.Second
			break
		}
		parsed, err := time.ParseDuration(d.StrVal)
		if err != nil {
			return 0, fmt.Errorf("%q is neither whole seconds nor a duration such as 30s, 5m or 1h", d.StrVal)
		}
		dur = parsed
	default:
		return 0, fmt.Errorf("unknown IntOrString type %d", d.Type)
	}
	if dur < 0 {
		return 0, fmt.Errorf("duration %s is negative", dur)
	}
	return dur, nil
}

// IsIndefinite reports whether the pause waits for a promote rather than a timer.
func (p *RolloutPause) IsIndefinite() bool {
	return p.Duration == nil
}

// DurationOrZero returns the parsed pause duration; an indefinite or invalid
// duration gives 0, so call validation first when the difference matters.
func (p *RolloutPause) DurationOrZero() time.Duration {
	if p.Duration == nil {
		return 0
	}
	d, err := ParsePauseDuration(*p.Duration)
	if err != nil {
		return 0
	}
	return d
}
