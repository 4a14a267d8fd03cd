package eventrecorder

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestSeries drives the six-minute window with a fake clock: the second
// isomorphic Event turns the first into a series, later ones only count,
// the final count is written once the series is over, and the next one
// starts a new Event.
func TestSeries(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	cs := newClient(t)
	ns := newNamespace(t, cs)
	clk := clocktesting.NewFakeClock(time.Now().Truncate(time.Microsecond))
	b, _ := start(t, cs, Options{Clock: clk})
	rec := b.Recorder("series")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: ns, UID: "cm-" + types.UID(ns)}}
	other := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: ns, UID: "other-" + types.UID(ns)}}
	emit := func(note string) { rec.Eventf(cm, nil, corev1.EventTypeNormal, "Scaled", "Scale", "%s", note) }
	events := func(g Gomega) []eventsv1.Event { return eventsAbout(g, cs, ns, string(cm.UID)) }
	t0 := clk.Now()

	emit("first")
	g.Eventually(func(g Gomega) {
		list := events(g)
		g.Expect(list).To(HaveLen(1))
		g.Expect(list[0].Series).To(BeNil())
		g.Expect(list[0].EventTime.Time).To(BeTemporally("==", t0))
	}, poll).Should(Succeed())
	first := events(g)[0].Name

	// Not isomorphic (another object): an Event of its own, no series.
	rec.Eventf(other, nil, corev1.EventTypeNormal, "Scaled", "Scale", "first")

	clk.Step(time.Minute)
	emit("second")
	g.Eventually(func(g Gomega) {
		list := events(g)
		g.Expect(list).To(HaveLen(1))
		g.Expect(list[0].Name).To(Equal(first))
		g.Expect(list[0].Note).To(Equal("first"))
		g.Expect(list[0].Series).To(Equal(&eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.MicroTime{Time: t0.Add(time.Minute)}}))
	}, poll).Should(Succeed())

	// Later repeats within the window only count.
	for range 3 {
		clk.Step(5 * time.Minute)
		emit("again")
	}
	g.Expect(b.cachedCount(cm)).To(BeEquivalentTo(5))
	g.Expect(events(g)[0].Series.Count).To(BeEquivalentTo(2))

	// Past the window, the sweep writes the final count and forgets it.
	g.Eventually(clk.HasWaiters, poll).Should(BeTrue())
	clk.Step(Window + time.Second)
	g.Eventually(func(g Gomega) {
		list := events(g)
		g.Expect(list).To(HaveLen(1))
		g.Expect(list[0].Series).To(Equal(&eventsv1.EventSeries{Count: 5, LastObservedTime: metav1.MicroTime{Time: t0.Add(16 * time.Minute)}}))
	}, poll).Should(Succeed())
	g.Eventually(b.cached, poll).Should(BeZero())

	// The next one is a new Event.
	emit("new")
	g.Eventually(func(g Gomega) {
		list := events(g)
		g.Expect(list).To(HaveLen(2))
		g.Expect(list).To(ContainElement(HaveField("Note", "new")))
	}, poll).Should(Succeed())
}

// TestRepeatAfterWindow: a repeat more than six minutes after a singleton
// is a new Event, even before a sweep forgot the first.
func TestRepeatAfterWindow(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	cs := newClient(t)
	ns := newNamespace(t, cs)
	clk := clocktesting.NewFakeClock(time.Now())
	// No sweep during the test.
	b, _ := start(t, cs, Options{Clock: clk, SweepPeriod: time.Hour})
	rec := b.Recorder("window")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: ns, UID: "cm-" + types.UID(ns)}}
	rec.Eventf(cm, nil, corev1.EventTypeNormal, "Scaled", "Scale", "one")
	g.Eventually(func(g Gomega) { g.Expect(eventsAbout(g, cs, ns, string(cm.UID))).To(HaveLen(1)) }, poll).Should(Succeed())
	clk.Step(Window + time.Millisecond)
	rec.Eventf(cm, nil, corev1.EventTypeNormal, "Scaled", "Scale", "two")
	g.Eventually(func(g Gomega) {
		list := eventsAbout(g, cs, ns, string(cm.UID))
		g.Expect(list).To(HaveLen(2))
		for _, ev := range list {
			g.Expect(ev.Series).To(BeNil())
		}
	}, poll).Should(Succeed())
	g.Expect(b.cached()).To(Equal(1))
}

// TestRefresh: an ongoing series gets its count written every thirty
// minutes.
func TestRefresh(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	cs := newClient(t)
	ns := newNamespace(t, cs)
	clk := clocktesting.NewFakeClock(time.Now())
	b, _ := start(t, cs, Options{Clock: clk})
	rec := b.Recorder("refresh")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: ns, UID: "cm-" + types.UID(ns)}}
	rec.Eventf(cm, nil, corev1.EventTypeNormal, "Scaled", "Scale", "one")
	g.Eventually(func(g Gomega) { g.Expect(eventsAbout(g, cs, ns, string(cm.UID))).To(HaveLen(1)) }, poll).Should(Succeed())
	for range 7 {
		g.Eventually(clk.HasWaiters, poll).Should(BeTrue())
		clk.Step(5 * time.Minute)
		rec.Eventf(cm, nil, corev1.EventTypeNormal, "Scaled", "Scale", "again")
	}
	// Count 2 was written when the series started; the refresh at thirty
	// minutes writes what it had counted by then (6, or 7 if the sixth
	// repeat came first).
	g.Eventually(func(g Gomega) {
		list := eventsAbout(g, cs, ns, string(cm.UID))
		g.Expect(list).To(HaveLen(1))
		g.Expect(list[0].Series).NotTo(BeNil())
		g.Expect(list[0].Series.Count).To(BeNumerically(">=", 6))
	}, poll).Should(Succeed())
}

// TestSeriesPatch: the series write is the strategic merge patch client-go
// computes between the Event without and with its series.
func TestSeriesPatch(t *testing.T) {
	g := NewWithT(t)
	ev := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "cm.1", Namespace: "ns"},
		EventTime:  metav1.NowMicro(), Reason: "R", Action: "A", Type: corev1.EventTypeNormal, Note: "n",
		Regarding: corev1.ObjectReference{Kind: "ConfigMap", Name: "cm", Namespace: "ns"},
		Series:    &eventsv1.EventSeries{Count: 7, LastObservedTime: metav1.NowMicro()},
	}
	without := ev.DeepCopy()
	without.Series = nil
	oldJSON, err := json.Marshal(without)
	g.Expect(err).NotTo(HaveOccurred())
	newJSON, err := json.Marshal(ev)
	g.Expect(err).NotTo(HaveOccurred())
	want, err := strategicpatch.CreateTwoWayMergePatch(oldJSON, newJSON, eventsv1.Event{})
	g.Expect(err).NotTo(HaveOccurred())
	got, err := seriesPatch(ev.Series)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(MatchJSON(want))
}

// TestBurst: a burst of Events is written in full, and stopping leaves no
// goroutine behind. Not parallel: it counts goroutines.
func TestBurst(t *testing.T) {
	g := NewWithT(t)
	cs := newClient(t)
	ns := newNamespace(t, cs)
	// Warm the client's connection before counting goroutines.
	_, err := cs.EventsV1().Events(ns).List(t.Context(), metav1.ListOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	before := runtime.NumGoroutine()

	b, stop := start(t, cs, Options{})
	rec := b.Recorder("burst")
	const n = 3000
	for i := range n {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Namespace: ns, UID: types.UID(fmt.Sprintf("%s-%d", ns, i))}}
		rec.Eventf(cm, nil, corev1.EventTypeNormal, "Burst", "Record", "event %d", i)
	}
	g.Eventually(func(g Gomega) {
		list, err := cs.EventsV1().Events(ns).List(t.Context(), metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(list.Items).To(HaveLen(n))
	}, 2*time.Minute, time.Second).Should(Succeed())
	stop()
	g.Eventually(runtime.NumGoroutine, poll).Should(BeNumerically("<=", before))
}

func (b *Broadcaster) cachedCount(obj *corev1.ConfigMap) int32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.cache {
		if e.namespace.Value() == obj.Namespace && len(e.name) > len(obj.Name) && e.name[:len(obj.Name)+1] == obj.Name+"." {
			return e.count
		}
	}
	return 0
}

// TestOneWriteAtATimePerEvent: while an Event is being written, its next
// write waits and other Events' writes go ahead, in order.
func TestOneWriteAtATimePerEvent(t *testing.T) {
	g := NewWithT(t)
	b := New(Options{})
	a1 := write{kind: seriesCount, namespace: "ns", name: "a", series: eventsv1.EventSeries{Count: 2}}
	a2 := write{kind: seriesCount, namespace: "ns", name: "a", series: eventsv1.EventSeries{Count: 3}}
	other := write{kind: seriesCount, namespace: "ns", name: "b"}
	b.push(a1)
	b.push(a2)
	b.push(other)
	w, ok := b.pop()
	g.Expect(ok).To(BeTrue())
	g.Expect(w).To(Equal(a1))
	w, ok = b.pop()
	g.Expect(ok).To(BeTrue())
	g.Expect(w).To(Equal(other))
	_, ok = b.pop()
	g.Expect(ok).To(BeFalse(), "a's second write waits for its first")
	b.done(a1)
	w, ok = b.pop()
	g.Expect(ok).To(BeTrue())
	g.Expect(w).To(Equal(a2))
}
