package notifications

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
)

func TestTrigger(t *testing.T) {
	for _, tt := range []struct{ reason, want string }{
		{"RolloutCompleted", "on-rollout-completed"},
		{"RolloutStepCompleted", "on-rollout-step-completed"},
		{"RolloutUpdated", "on-rollout-updated"},
		{"RolloutPaused", "on-rollout-paused"},
		{"RolloutAborted", "on-rollout-aborted"},
		{"AnalysisRunFailed", "on-analysis-run-failed"},
		{"AnalysisRunError", "on-analysis-run-error"},
		{"ScalingReplicaSet", "on-scaling-replica-set"},
		{"TrafficWeightUpdated", "on-traffic-weight-updated"},
		{"HTTPRouteUpdated", "on-http-route-updated"},
		{"Step2Done", "on-step2-done"},
		{"", ""},
	} {
		t.Run(tt.reason, func(t *testing.T) {
			if got := Trigger(tt.reason); got != tt.want {
				t.Errorf("Trigger(%q) = %q, want %q", tt.reason, got, tt.want)
			}
		})
	}
}

func TestKey(t *testing.T) {
	base := NewKey("2", "1", "on-rollout-step-completed", "Rollout step 1/2 completed (setWeight: 30)", "hook", "")
	for _, tt := range []struct {
		name string
		k    Key
		same bool
	}{
		{"the same event recorded again", NewKey("2", "1", "on-rollout-step-completed", "Rollout step 1/2 completed (setWeight: 30)", "hook", ""), true},
		{"another revision", NewKey("3", "1", "on-rollout-step-completed", "Rollout step 1/2 completed (setWeight: 30)", "hook", ""), false},
		{"another step", NewKey("2", "2", "on-rollout-step-completed", "Rollout step 1/2 completed (setWeight: 30)", "hook", ""), false},
		{"another message", NewKey("2", "1", "on-rollout-step-completed", "Rollout step 2/2 completed (pause: {})", "hook", ""), false},
		{"another trigger", NewKey("2", "1", "on-rollout-paused", "Rollout step 1/2 completed (setWeight: 30)", "hook", ""), false},
		{"another recipient", NewKey("2", "1", "on-rollout-step-completed", "Rollout step 1/2 completed (setWeight: 30)", "hook", "ops"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.k.String() == base.String(); got != tt.same {
				t.Errorf("%q vs %q: same = %v, want %v", tt.k, base, got, tt.same)
			}
			back, ok := parseKey(tt.k.String())
			if !ok || back != tt.k {
				t.Errorf("parseKey(%q) = %+v, %v", tt.k, back, ok)
			}
		})
	}
}

func TestStateRecord(t *testing.T) {
	step := NewKey("2", "1", "on-rollout-step-completed", "step 1", "hook", "")
	paused := NewKey("2", "1", "on-rollout-paused", "paused", "hook", "")
	otherRevision := NewKey("1", "1", "on-rollout-step-completed", "step 1", "hook", "")
	updated := NewKey("2", "0", "on-rollout-updated", "updated to 2", "hook", "")
	aborted := NewKey("2", "1", "on-rollout-aborted", "aborted", "hook", "")
	abortMarker := aborted.Marker()

	for _, tt := range []struct {
		name     string
		records  []Key
		sent     []Key
		notSent  []Key
		wantSize int
	}{{
		name:    "a recorded delivery is sent",
		records: []Key{step},
		sent:    []Key{step},
		notSent: []Key{paused, otherRevision},
	}, {
		name:    "an abort restarts its revision's step, pause and completion announcements, not its update nor other revisions",
		records: []Key{updated, step, paused, otherRevision, abortMarker},
		sent:    []Key{updated, otherRevision, abortMarker},
		notSent: []Key{step, paused},
	}, {
		name:    "a step after the abort (a retry) makes a later abort new",
		records: []Key{step, aborted, abortMarker, step},
		sent:    []Key{step},
		notSent: []Key{aborted, abortMarker},
	}, {
		name:    "an abort recorded again stays recorded",
		records: []Key{aborted, abortMarker, aborted},
		sent:    []Key{aborted, abortMarker},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			st := State{}
			for i, k := range tt.records {
				st = st.Record(k, int64(i))
			}
			st = ParseState(st.String()) // through the annotation
			for _, k := range tt.sent {
				if !st.Sent(k) {
					t.Errorf("%s not recorded in %s", k, st)
				}
			}
			for _, k := range tt.notSent {
				if st.Sent(k) {
					t.Errorf("%s recorded in %s", k, st)
				}
			}
		})
	}

	t.Run("at most MaxRecords, the newest", func(t *testing.T) {
		st := State{}
		for i := range MaxRecords + 10 {
			st = st.Record(NewKey(fmt.Sprint(i), "0", "on-rollout-updated", "", "hook", ""), int64(i))
		}
		if len(st) != MaxRecords {
			t.Fatalf("%d records, want %d", len(st), MaxRecords)
		}
		if st.Sent(NewKey("9", "0", "on-rollout-updated", "", "hook", "")) || !st.Sent(NewKey("10", "0", "on-rollout-updated", "", "hook", "")) {
			t.Errorf("the oldest should go first: %s", st)
		}
	})

	t.Run("an unreadable annotation reads as nothing sent", func(t *testing.T) {
		if st := ParseState("{not json"); len(st) != 0 {
			t.Errorf("ParseState = %v", st)
		}
	})
}

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {7, time.Minute}, {100, time.Minute}} {
		t.Run(fmt.Sprint(tt.failures), func(t *testing.T) {
			if got := Backoff(time.Second, time.Minute, tt.failures); got != tt.want {
				t.Errorf("Backoff(%d) = %s, want %s", tt.failures, got, tt.want)
			}
		})
	}
}

// TestQueueBound: with the worker busy (here: not started), events beyond
// the queue's size are dropped, counted in notification_send_error, and
// Enqueue returns at once.
func TestQueueBound(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	n := New(Options{Namespace: "argo-rollouts", QueueSize: 2, Metrics: m})
	subscribed := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web",
		Annotations: map[string]string{"notifications.argoproj.io/subscribe.on-rollout-updated.hook": ""}}}
	unsubscribed := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "quiet"}}
	for range 5 {
		n.Enqueue(subscribed, corev1.EventTypeNormal, "RolloutUpdated", "Rollout updated to revision 2")
		n.Enqueue(unsubscribed, corev1.EventTypeNormal, "RolloutUpdated", "Rollout updated to revision 2")
	}
	n.Enqueue(&corev1.Pod{}, corev1.EventTypeNormal, "RolloutUpdated", "not a Rollout")
	if got := len(n.queue); got != 2 {
		t.Errorf("queued %d, want 2", got)
	}
	if got := testutil.ToFloat64(m.Error.WithLabelValues("apps", "web", corev1.EventTypeNormal, "RolloutUpdated")); got != 3 {
		t.Errorf("notification_send_error = %v, want 3 (the dropped events)", got)
	}
	if got := testutil.CollectAndCount(m.Error); got != 1 {
		t.Errorf("%d error series, want 1 (a Rollout subscribing to nothing queues nothing)", got)
	}
}

// TestParseConfig: a malformed template, trigger or service is left out
// and named; the rest of the configuration works.
func TestParseConfig(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "argo-rollouts", Name: ConfigMapName}, Data: map[string]string{
		"service.webhook.hook":                 "url: http://127.0.0.1:1/",
		"service.webhook.broken":               "url: [not: a string",
		"template.rollout-completed":           "webhook:\n  hook:\n    method: POST\n    body: '{{.rollout.metadata.name}} completed'",
		"template.broken":                      "webhook:\n  hook:\n    body: '{{.rollout.metadata.name'",
		"trigger.on-rollout-completed":         "- send: [rollout-completed]",
		"trigger.on-rollout-paused":            "- when: rollout.status.phase ==\n  send: [rollout-completed]",
		"trigger.on-rollout-step-completed":    "- send: [broken]",
		"trigger.on-rollout-aborted":           "not: [a list",
		"defaultTriggers":                      "[on-rollout-completed]",
		"unrelated.key.the.engine.does.ignore": "x",
	}}
	cfg := parseConfig(cm, &corev1.Secret{}, varsFor(&corev1.Secret{}))
	if cfg.err != nil {
		t.Fatalf("whole configuration refused: %v", cfg.err)
	}
	wantInvalid := []string{"service.webhook.broken", "template.broken", "trigger.on-rollout-aborted", "trigger.on-rollout-paused"}
	if got := cfg.invalidKeys(); fmt.Sprint(got) != fmt.Sprint(wantInvalid) {
		t.Errorf("invalid keys = %v, want %v", got, wantInvalid)
	}
	if _, ok := cfg.api.GetNotificationServices()["hook"]; !ok {
		t.Errorf("the valid service is missing")
	}
	if _, ok := cfg.api.GetConfig().Triggers["on-rollout-completed"]; !ok {
		t.Errorf("the valid trigger is missing")
	}
	if _, ok := cfg.api.GetConfig().Triggers["on-rollout-step-completed"]; !ok {
		t.Errorf("a trigger sending a malformed template is itself well formed")
	}
	if err := cfg.invalidTemplate("broken"); err == nil {
		t.Errorf("template broken not named invalid")
	}

	t.Run("malformed subscriptions refuse the whole configuration", func(t *testing.T) {
		bad := cm.DeepCopy()
		bad.Data["subscriptions"] = "[not yaml"
		if cfg := parseConfig(bad, &corev1.Secret{}, varsFor(&corev1.Secret{})); cfg.err == nil {
			t.Errorf("no error")
		}
	})
}

func TestHasSubscriptions(t *testing.T) {
	for _, tt := range []struct {
		name        string
		annotations map[string]string
		trigger     string
		want        bool
	}{
		{"subscribed to the trigger", map[string]string{"notifications.argoproj.io/subscribe.on-rollout-paused.hook": ""}, "on-rollout-paused", true},
		{"subscribed to another trigger", map[string]string{"notifications.argoproj.io/subscribe.on-rollout-paused.hook": ""}, "on-rollout-completed", false},
		{"a trigger whose name extends the subscribed one", map[string]string{"notifications.argoproj.io/subscribe.on-rollout-paused-long.hook": ""}, "on-rollout-paused", false},
		{"a service's default triggers", map[string]string{"notifications.argoproj.io/subscribe.hook": "ops"}, "on-scaling-replica-set", true},
		{"the subscriptions annotation", map[string]string{"notifications.argoproj.io/subscriptions": "- trigger: [on-rollout-paused]"}, "on-rollout-completed", true},
		{"any trigger", map[string]string{"notifications.argoproj.io/subscribe.on-rollout-paused.hook": ""}, "", true},
		{"nothing", map[string]string{"rollout.argoproj.io/revision": "2"}, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := hasSubscriptions(tt.annotations, tt.trigger); got != tt.want {
				t.Errorf("hasSubscriptions = %v, want %v", got, tt.want)
			}
		})
	}
}
