package main

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchyard-dev/switchyard/test/auditlog"
)

// TestLeadership: a replica's writes count as a leader's only between its
// own successful Lease write and another replica's.
func TestLeadership(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(user, verb, resource, name string, code int, at time.Duration) auditlog.Event {
		e := auditlog.Event{Verb: verb, AuditID: name}
		e.User.Username = user
		e.ObjectRef = &struct {
			Resource    string `json:"resource"`
			Subresource string `json:"subresource"`
			Name        string `json:"name"`
			Namespace   string `json:"namespace"`
			APIGroup    string `json:"apiGroup"`
		}{Resource: resource, Name: name, Namespace: "ns"}
		e.ResponseStatus = &struct {
			Code int `json:"code"`
		}{Code: code}
		e.RequestReceivedTimestamp = metav1.NewMicroTime(t0.Add(at))
		e.StageTimestamp = metav1.NewMicroTime(t0.Add(at + time.Millisecond))
		return e
	}
	lease := func(user string, code int, at time.Duration) auditlog.Event {
		return ev(user, "update", "leases", "lock", code, at)
	}
	for _, tc := range []struct {
		name    string
		events  []auditlog.Event
		want    []string // the audit IDs of the writes found
		changes int
	}{
		{
			name: "a before acquiring, then b while a holds the Lease",
			events: []auditlog.Event{
				ev("a", "patch", "replicasets", "early", 200, 0),
				lease("a", 200, time.Second),
				ev("a", "patch", "replicasets", "fine", 200, 2*time.Second),
				lease("b", 409, 3*time.Second),
				ev("b", "update", "services", "intruder", 409, 4*time.Second),
			},
			want: []string{"early", "intruder"},
		},
		{
			name: "a failover: the old leader's writes stop, the new one's start after it acquired",
			events: []auditlog.Event{
				lease("a", 200, time.Second),
				ev("a", "patch", "rollouts", "a-1", 200, 2*time.Second),
				lease("b", 200, 8*time.Second),
				ev("b", "patch", "rollouts", "b-1", 200, 9*time.Second),
				lease("b", 200, 10*time.Second),
				ev("a", "create", "events", "a-late", 201, 11*time.Second),
			},
			want:    []string{"a-late"},
			changes: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs, changes := leadership(tc.events, "ns", "lock")
			for _, v := range vs {
				t.Log(v)
			}
			if len(vs) != len(tc.want) {
				t.Fatalf("found %d writes by a replica without the Lease, want %v: %v", len(vs), tc.want, vs)
			}
			for i, v := range vs {
				if v.Evidence[:len("audit ")+len(tc.want[i])] != "audit "+tc.want[i] {
					t.Errorf("write %d: %s, want %s", i, v.Evidence, tc.want[i])
				}
			}
			if changes != tc.changes {
				t.Errorf("Lease changed hands %d times, want %d", changes, tc.changes)
			}
		})
	}
}
