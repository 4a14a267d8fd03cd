package job

import (
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	const uid = "0b5e3c52-4f3a-4c39-9d0a-6f1b5b3b2f10" // 36 characters
	tests := []struct {
		metric string
		n      int32
		want   string
	}{
		{"smoke", 1, uid + ".smoke.1"},
		{"integration-tests", 12, uid + ".integration-tests.12"},
		// Longer than 63: the metric part is cut, the number kept.
		{"a-rather-long-metric-name-for-a-job", 3, uid + ".a-rather-long-metric-nam.3"},
		// ... and never ends in a dash.
		{"a-rather-long-metric-na-e-for-a-job", 3, uid + ".a-rather-long-metric-na.3"},
		{strings.Repeat("x", 80), 1000, uid + "." + strings.Repeat("x", 21) + ".1000"},
	}
	for _, tt := range tests {
		got := Name(uid, tt.metric, tt.n)
		if got != tt.want {
			t.Errorf("Name(%q, %d) = %q, want %q", tt.metric, tt.n, got, tt.want)
		}
		if len(got) > maxNameLength {
			t.Errorf("%q is %d characters", got, len(got))
		}
	}
	if index(Name(uid, "smoke", 7)) != 7 {
		t.Error("index does not read the measurement number back")
	}
}
