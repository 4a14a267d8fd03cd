package imageupdater

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/failure"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/redact"
	"github.com/switchyard-dev/switchyard/internal/imageupdater/registry"
)

var t0 = time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time {
	t := metav1.NewTime(t0.Add(d))
	return &t
}

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		failures int32
		want     time.Duration
	}{
		{0, 2 * time.Minute},
		{1, 5 * time.Second},
		{2, 10 * time.Second},
		{4, 40 * time.Second},
		{7, 320 * time.Second},
		{8, 10 * time.Minute},
		{1000, 10 * time.Minute},
	}
	for _, tt := range tests {
		st := &imagesv1.ImageStatus{ConsecutiveFailures: tt.failures}
		if got := retryDelay(st, 2*time.Minute, 10*time.Minute); got != tt.want {
			t.Errorf("retryDelay(%d failures) = %s, want %s", tt.failures, got, tt.want)
		}
	}
}

func TestDueAndRequeue(t *testing.T) {
	interval, maxBackoff := 2*time.Minute, 10*time.Minute
	tests := []struct {
		name        string
		st          imagesv1.ImageStatus
		now         time.Duration
		specChanged bool
		wantDue     bool
		wantRequeue time.Duration
	}{
		{name: "never polled", wantDue: true, wantRequeue: time.Second},
		{name: "healthy, not yet", st: imagesv1.ImageStatus{LastCheckedAt: at(0)}, now: time.Minute, wantRequeue: time.Minute},
		{name: "healthy, due", st: imagesv1.ImageStatus{LastCheckedAt: at(0)}, now: 2 * time.Minute, wantDue: true, wantRequeue: time.Second},
		{name: "spec changed", st: imagesv1.ImageStatus{LastCheckedAt: at(0)}, now: time.Second, specChanged: true, wantDue: true, wantRequeue: 2*time.Minute - time.Second},
		{name: "failing, backing off", st: imagesv1.ImageStatus{LastCheckedAt: at(0), ConsecutiveFailures: 3}, now: 10 * time.Second, wantRequeue: 10 * time.Second},
		{name: "failing, retry due", st: imagesv1.ImageStatus{LastCheckedAt: at(0), ConsecutiveFailures: 3}, now: 20 * time.Second, wantDue: true, wantRequeue: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(tt.now)
			if got := due(&tt.st, now, interval, maxBackoff, tt.specChanged); got != tt.wantDue {
				t.Errorf("due = %v, want %v", got, tt.wantDue)
			}
			if got := requeueAfter([]imagesv1.ImageStatus{tt.st}, now, interval, maxBackoff); got != tt.wantRequeue {
				t.Errorf("requeueAfter = %s, want %s", got, tt.wantRequeue)
			}
		})
	}
	// The earliest image wins.
	statuses := []imagesv1.ImageStatus{
		{LastCheckedAt: at(0)},
		{LastCheckedAt: at(0), ConsecutiveFailures: 1},
	}
	if got := requeueAfter(statuses, t0, interval, maxBackoff); got != 5*time.Second {
		t.Errorf("requeueAfter(two images) = %s, want 5s", got)
	}
}

func TestRecordPoll(t *testing.T) {
	now := metav1.NewTime(t0)
	st := imagesv1.ImageStatus{Name: "backend", Tag: "latest", Digest: "sha256:old", ChangedAt: at(-time.Hour)}

	if recordPoll(&st, now, registry.Result{Tag: "latest", Digest: "sha256:old"}, outcome{}) {
		t.Error("same digest reported as a change")
	}
	if !st.ChangedAt.Equal(at(-time.Hour)) || !st.LastCheckedAt.Equal(&now) {
		t.Errorf("unchanged poll: %+v", st)
	}

	failed := outcome{reason: imagesv1.ReasonAuthFailed, message: "refused"}
	if recordPoll(&st, now, registry.Result{}, failed) {
		t.Error("a failure reported as a change")
	}
	if st.Digest != "sha256:old" || st.ConsecutiveFailures != 1 || st.Reason != imagesv1.ReasonAuthFailed {
		t.Errorf("failed poll must keep the digest and count the failure: %+v", st)
	}

	if !recordPoll(&st, now, registry.Result{Tag: "latest", Digest: "sha256:new"}, outcome{}) {
		t.Error("new digest not reported as a change")
	}
	if st.Digest != "sha256:new" || !st.ChangedAt.Equal(&now) {
		t.Errorf("changed poll: %+v", st)
	}
	// The failure is cleared by a successful write-back, not by the poll:
	// an image is healthy only when both worked.
	if st.ConsecutiveFailures != 1 {
		t.Errorf("poll cleared the failure count: %+v", st)
	}
}

func TestRecordWriteBack(t *testing.T) {
	first := imagesv1.WriteBackRecord{Method: imagesv1.WriteBackGit, Image: "r/b:latest@sha256:1", Commit: "c1", Changed: true, Time: *at(0)}
	st := imagesv1.ImageStatus{ConsecutiveFailures: 2, Reason: imagesv1.ReasonPushRejected, Message: "m"}

	recordWriteBack(&st, first, outcome{})
	if st.ConsecutiveFailures != 0 || st.Reason != "" || st.Message != "" || st.LastWriteBack.Commit != "c1" {
		t.Fatalf("success: %+v", st)
	}
	// Polling again finds the image in place: the record of the real
	// change stays.
	recordWriteBack(&st, imagesv1.WriteBackRecord{Method: imagesv1.WriteBackGit, Image: first.Image, Commit: "c2", Time: *at(time.Hour)}, outcome{})
	if st.LastWriteBack.Commit != "c1" || !st.LastWriteBack.Time.Equal(at(0)) {
		t.Errorf("unchanged write-back replaced the record: %+v", st.LastWriteBack)
	}
	recordWriteBack(&st, imagesv1.WriteBackRecord{}, outcome{reason: imagesv1.ReasonAuthFailed, message: "no"})
	if st.ConsecutiveFailures != 1 || st.LastWriteBack.Commit != "c1" {
		t.Errorf("failure: %+v", st)
	}
	second := imagesv1.WriteBackRecord{Method: imagesv1.WriteBackGit, Image: "r/b:latest@sha256:2", Commit: "c3", Changed: true, Time: *at(2 * time.Hour)}
	recordWriteBack(&st, second, outcome{})
	if st.LastWriteBack.Commit != "c3" {
		t.Errorf("new image not recorded: %+v", st.LastWriteBack)
	}
}

func TestReadyCondition(t *testing.T) {
	ok := imagesv1.ImageStatus{Name: "backend", LastCheckedAt: at(0)}
	auth := imagesv1.ImageStatus{Name: "worker", LastCheckedAt: at(0), Reason: imagesv1.ReasonAuthFailed, Message: "registry r refused the credentials for r/worker:latest (401 Unauthorized)"}
	missing := imagesv1.ImageStatus{Name: "cron", LastCheckedAt: at(0), Reason: imagesv1.ReasonTagNotFound, Message: "r/cron:nightly not found in registry r"}
	tests := []struct {
		name     string
		statuses []imagesv1.ImageStatus
		want     metav1.Condition
	}{
		{
			name:     "all good",
			statuses: []imagesv1.ImageStatus{ok, ok},
			want:     metav1.Condition{Status: metav1.ConditionTrue, Reason: imagesv1.ReasonSucceeded, Message: "2 images polled and written back"},
		},
		{
			name:     "one image",
			statuses: []imagesv1.ImageStatus{ok},
			want:     metav1.Condition{Status: metav1.ConditionTrue, Reason: imagesv1.ReasonSucceeded, Message: "1 image polled and written back"},
		},
		{
			name:     "one failure",
			statuses: []imagesv1.ImageStatus{ok, auth},
			want:     metav1.Condition{Status: metav1.ConditionFalse, Reason: imagesv1.ReasonAuthFailed, Message: "worker: registry r refused the credentials for r/worker:latest (401 Unauthorized)"},
		},
		{
			name:     "two failures, first reason wins",
			statuses: []imagesv1.ImageStatus{missing, ok, auth},
			want: metav1.Condition{Status: metav1.ConditionFalse, Reason: imagesv1.ReasonTagNotFound,
				Message: "cron: r/cron:nightly not found in registry r; worker: registry r refused the credentials for r/worker:latest (401 Unauthorized)"},
		},
		{
			name:     "pending",
			statuses: []imagesv1.ImageStatus{ok, {Name: "new"}},
			want:     metav1.Condition{Status: metav1.ConditionFalse, Reason: imagesv1.ReasonPending, Message: "not polled yet: new"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readyCondition(tt.statuses, 7)
			if got.Type != imagesv1.ConditionReady || got.ObservedGeneration != 7 || got.Status != tt.want.Status || got.Reason != tt.want.Reason || got.Message != tt.want.Message {
				t.Errorf("readyCondition = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSyncImageStatuses(t *testing.T) {
	specs := []imagesv1.ImageSpec{{Name: "b"}, {Name: "c"}, {Name: "a"}}
	current := []imagesv1.ImageStatus{{Name: "a", Digest: "da"}, {Name: "gone", Digest: "dg"}, {Name: "b", Digest: "db"}}
	got := syncImageStatuses(specs, current)
	want := []imagesv1.ImageStatus{{Name: "b", Digest: "db"}, {Name: "c"}, {Name: "a", Digest: "da"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Digest != want[i].Digest {
			t.Errorf("[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestOutcomeRedacts checks the one path every status message, event and
// log line about a failure takes.
func TestOutcomeRedacts(t *testing.T) {
	s := &unit{redactor: redact.New()}
	s.redactor.AddBasic("bot", "hunter2-secret")
	tests := []struct {
		err        error
		wantReason string
		want       string
	}{
		{err: failure.New(imagesv1.ReasonAuthFailed, errors.New("401 with hunter2-secret"), "refused for https://bot:hunter2-secret@git.example.com/r.git"),
			wantReason: imagesv1.ReasonAuthFailed, want: "refused for https://***@git.example.com/r.git"},
		{err: errors.New("unclassified: token hunter2-secret in body"), wantReason: imagesv1.ReasonRegistryError, want: "unclassified: token *** in body"},
		{err: nil},
	}
	for _, tt := range tests {
		o := s.outcome(tt.err, imagesv1.ReasonRegistryError)
		if o.reason != tt.wantReason || o.message != tt.want {
			t.Errorf("outcome(%v) = %+v, want %s %q", tt.err, o, tt.wantReason, tt.want)
		}
		if strings.Contains(o.message, "hunter2") {
			t.Errorf("outcome leaks the password: %q", o.message)
		}
	}
}
