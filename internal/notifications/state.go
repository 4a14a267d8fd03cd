package notifications

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// NotifiedAnnotation records on a Rollout the notifications already sent,
// as a JSON object of delivery key → Unix time of the send (the annotation
// and format notifications-engine's own controller uses; the keys are ours).
const NotifiedAnnotation = "notified.notifications.argoproj.io"

// MaxRecords bounds the delivery keys kept on a Rollout; the oldest go
// first. A key only needs to outlive the passes that could record its
// event again, which are seconds apart.
const MaxRecords = 64

// Triggers whose transitions an abort ends: after an abort and a retry of
// the same revision, they happen again and are announced again.
const (
	triggerAborted = "on-rollout-aborted"
)

var restartedByAbort = map[string]bool{
	"on-rollout-step-completed": true,
	"on-rollout-paused":         true,
	"on-rollout-resumed":        true,
	"on-rollout-completed":      true,
}

// Key identifies one delivery: one transition of a Rollout, announced by
// one trigger to one destination. A transition is named by what stays the
// same when its event is recorded again (the revision, the step, the
// trigger and the event's message), never by a time, which a re-run pass
// computes anew.
type Key struct {
	Revision  string
	Step      string
	Trigger   string
	Message   string // a digest of the event's message
	Service   string
	Recipient string
}

// NewKey builds the delivery key of an event's transition (revision, step,
// trigger, message) for a destination.
func NewKey(revision, step, trigger, message, service, recipient string) Key {
	sum := sha256.Sum256([]byte(message))
	return Key{
		Revision:  revision,
		Step:      step,
		Trigger:   trigger,
		Message:   base64.RawURLEncoding.EncodeToString(sum[:9]),
		Service:   service,
		Recipient: recipient,
	}
}

// Marker is the key recorded for a transition itself, with no destination;
// an abort is recorded so even when nobody subscribes to it, to restart
// the announcements of its revision.
func (k Key) Marker() Key { k.Service, k.Recipient = "", ""; return k }

// String is the key as stored: fields joined by "|", the recipient last
// (it is free text).
func (k Key) String() string {
	return strings.Join([]string{k.Revision, k.Step, k.Trigger, k.Message, k.Service, k.Recipient}, "|")
}

func parseKey(s string) (Key, bool) {
	f := strings.SplitN(s, "|", 6)
	if len(f) != 6 {
		return Key{}, false
	}
	return Key{f[0], f[1], f[2], f[3], f[4], f[5]}, true
}

// State is what a Rollout's NotifiedAnnotation records: delivery key →
// Unix time of the send.
type State map[string]int64

// ParseState reads the annotation's value; an unreadable value (edited by
// hand) reads as empty, so at worst a notification is sent again.
func ParseState(v string) State {
	st := State{}
	if v == "" {
		return st
	}
	if err := json.Unmarshal([]byte(v), &st); err != nil {
		return State{}
	}
	return st
}

// String is the annotation's value.
func (st State) String() string {
	b, err := json.Marshal(map[string]int64(st))
	if err != nil {
		// A map of strings to integers always marshals.
		panic(fmt.Sprintf("marshal notified state: %v", err))
	}
	return string(b)
}

// Sent reports whether k was delivered.
func (st State) Sent(k Key) bool {
	_, ok := st[k.String()]
	return ok
}

// Record returns the state with k delivered at unix: an abort forgets the
// deliveries of the transitions it ends in the same revision (they will
// happen again after a retry), and any of those transitions forgets the
// revision's abort (a later abort is a new one). At most MaxRecords keys
// are kept, the newest.
func (st State) Record(k Key, unix int64) State {
	out := State{}
	for s, t := range st {
		old, ok := parseKey(s)
		if ok && old.Revision == k.Revision {
			if k.Trigger == triggerAborted && restartedByAbort[old.Trigger] {
				continue
			}
			if restartedByAbort[k.Trigger] && old.Trigger == triggerAborted {
				continue
			}
		}
		out[s] = t
	}
	out[k.String()] = unix
	if len(out) > MaxRecords {
		keys := make([]string, 0, len(out))
		for s := range out {
			keys = append(keys, s)
		}
		sort.Slice(keys, func(i, j int) bool {
			if out[keys[i]] != out[keys[j]] {
				return out[keys[i]] < out[keys[j]]
			}
			return keys[i] < keys[j]
		})
		for _, s := range keys[:len(out)-MaxRecords] {
			delete(out, s)
		}
	}
	return out
}
