package eventrecorder

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestSameEventAsClientGo records the same Events through client-go's
// recorder and ours and compares what lands on the server, field by
// field, apart from the name and times.
func TestSameEventAsClientGo(t *testing.T) {
	t.Parallel()
	cs := newClient(t)
	ns := newNamespace(t, cs)
	other := newNamespace(t, cs)

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	theirs := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
	if err := theirs.StartRecordingToSinkWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(theirs.Shutdown)
	b, _ := start(t, cs, Options{})
	recorders := map[string]events.AnnotatedEventRecorder{
		"client-go": theirs.NewRecorder(scheme.Scheme, "compare").(events.AnnotatedEventRecorder),
		"ours":      b.Recorder("compare"),
	}

	cases := []struct {
		name        string
		regarding   func(who string) client.Object
		related     client.Object
		annotations map[string]string
		eventtype   string
		note        string
	}{{
		name: "namespaced",
		regarding: func(who string) client.Object {
			return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-" + who, Namespace: ns, UID: types.UID("cm-" + who), ResourceVersion: "7"}}
		},
		eventtype: corev1.EventTypeNormal, note: "scaled to %d",
	}, {
		name: "regarding in another namespace, related",
		regarding: func(who string) client.Object {
			return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pod-" + who, Namespace: other, UID: types.UID("pod-" + who)}}
		},
		related:   &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: ns, UID: "secret"}},
		eventtype: corev1.EventTypeWarning, note: "failed %d times",
	}, {
		name: "cluster-scoped, annotated",
		regarding: func(who string) client.Object {
			return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-" + who, UID: types.UID("node-" + ns + who)}}
		},
		annotations: map[string]string{"switchyard.dev/test": "yes"},
		eventtype:   corev1.EventTypeNormal, note: "drained %d",
	}, {
		name: "long note",
		regarding: func(who string) client.Object {
			return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "long-" + who, Namespace: ns, UID: types.UID("long-" + who)}}
		},
		eventtype: corev1.EventTypeNormal, note: strings.Repeat("x", 900) + " %d",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			got := map[string]eventsv1.Event{}
			for who, rec := range recorders {
				regarding := tc.regarding(who)
				var related runtime.Object
				if tc.related != nil {
					related = tc.related
				}
				rec.AnnotatedEventf(regarding, related, tc.annotations, tc.eventtype, "Reason", "Action", tc.note, 3)
				evNS := regarding.GetNamespace()
				if evNS == "" {
					evNS = metav1.NamespaceDefault
				}
				var list []eventsv1.Event
				g.Eventually(func(g Gomega) {
					list = eventsAbout(g, cs, evNS, string(regarding.GetUID()))
					g.Expect(list).To(HaveLen(1))
				}, poll).Should(Succeed())
				got[who] = normalize(g, list[0], regarding)
			}
			g.Expect(got["ours"]).To(Equal(got["client-go"]))
			g.Expect(got["ours"].Note).To(Equal(fmt.Sprintf(tc.note, 3)))
		})
	}
}

// normalize checks the name, time and regarding object of ev, then blanks
// them and what the server sets, leaving what both recorders must agree on.
func normalize(g Gomega, ev eventsv1.Event, regarding client.Object) eventsv1.Event {
	// The name is <regarding name>.<hex unix nanoseconds>, at the event time.
	prefix := regarding.GetName() + "."
	g.Expect(ev.Name).To(HavePrefix(prefix))
	nanos, err := strconv.ParseInt(strings.TrimPrefix(ev.Name, prefix), 16, 64)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(time.Unix(0, nanos)).To(BeTemporally("~", ev.EventTime.Time, time.Millisecond))
	g.Expect(ev.EventTime.Time).To(BeTemporally("~", time.Now(), time.Minute))
	g.Expect(ev.Regarding.Name).To(Equal(regarding.GetName()))
	g.Expect(ev.Regarding.UID).To(Equal(regarding.GetUID()))
	ev.Name, ev.EventTime, ev.Regarding.Name, ev.Regarding.UID = "", metav1.MicroTime{}, "", ""
	ev.UID, ev.ResourceVersion, ev.CreationTimestamp, ev.ManagedFields = "", "", metav1.Time{}, nil
	// The legacy fields the server fills from the new ones.
	ev.DeprecatedFirstTimestamp, ev.DeprecatedLastTimestamp = metav1.Time{}, metav1.Time{}
	return ev
}

// TestNoteLimit: like client-go's, the recorder sends a note as it is; the
// server refuses one over its limit (1 kB), and nothing else is held up.
func TestNoteLimit(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	cs := newClient(t)
	ns := newNamespace(t, cs)
	// One worker: the writes go in the order recorded.
	b, _ := start(t, cs, Options{Workers: 1})
	rec := b.Recorder("notes")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: ns, UID: "cm-" + types.UID(ns)}}
	rec.Eventf(cm, nil, corev1.EventTypeNormal, "TooLong", "Note", "%s", strings.Repeat("x", 1025))
	rec.Eventf(cm, nil, corev1.EventTypeNormal, "Fits", "Note", "%s", strings.Repeat("x", 1024))
	g.Eventually(func(g Gomega) {
		list := eventsAbout(g, cs, ns, string(cm.UID))
		g.Expect(list).To(HaveLen(1))
		g.Expect(list[0].Reason).To(Equal("Fits"))
	}, poll).Should(Succeed())
}
