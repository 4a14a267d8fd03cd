package integration

import (
	"context"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/notifications"
)

// TestSameTransitionRecordedAgain: an event recorded again for the same
// transition (a pass re-run after a write conflict, or by the controller
// that took over) sends nothing again, in the same notifier or a new one;
// after an abort, the retried update's steps are announced again.
func TestSameTransitionRecordedAgain(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	rcv := newReceiver(t, http.StatusOK)
	create(g, toObjects(notificationConfig(ns, map[string]string{"receiver": rcv.URL}, nil))...)
	ro := seedCanary(g, ns, subscribe("receiver"))
	ro.Annotations[v1alpha1.RevisionAnnotation] = "2"
	create(g, ro)
	step := int32(0)
	ro.Status.CurrentStepIndex = &step

	kube, err := kubernetes.NewForConfig(env.RESTConfig)
	g.Expect(err).NotTo(HaveOccurred())
	start := func() (*notifications.Notifier, func()) {
		broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: kube.EventsV1()})
		ctx, cancel := context.WithCancel(context.Background())
		broadcaster.StartRecordingToSink(ctx.Done())
		m, err := notifications.NewMetrics(prometheus.NewRegistry())
		g.Expect(err).NotTo(HaveOccurred())
		scheme := k8sClient.Scheme()
		n := notifications.New(notifications.Options{
			Namespace: ns, Reader: k8sClient, Client: k8sClient, Metrics: m,
			Recorder: broadcaster.NewRecorder(scheme, "switchyard"),
		})
		done := make(chan error, 1)
		go func() { done <- n.Start(ctx) }()
		return n, func() { cancel(); g.Expect(<-done).To(Succeed()); broadcaster.Shutdown() }
	}
	stepCompleted := func(n *notifications.Notifier) {
		n.Enqueue(ro, corev1.EventTypeNormal, "RolloutStepCompleted", "Rollout step 1/2 completed (setWeight: 30)")
	}

	n, stop := start()
	stepCompleted(n)
	stepCompleted(n) // the pass re-run
	g.Eventually(rcv.received).Should(HaveLen(1))
	g.Consistently(rcv.received, 2*time.Second, 100*time.Millisecond).Should(HaveLen(1))
	stop()

	n, stop = start() // the controller that takes over records it again
	defer stop()
	stepCompleted(n)
	g.Consistently(rcv.received, 2*time.Second, 100*time.Millisecond).Should(HaveLen(1))
	live := &v1alpha1.Rollout{}
	g.Expect(k8sClient.Get(context.Background(), client.ObjectKeyFromObject(ro), live)).To(Succeed())
	g.Expect(live.Annotations).To(HaveKeyWithValue(notifications.NotifiedAnnotation, ContainSubstring("2|0|on-rollout-step-completed|")))

	// Aborted, then retried: the steps happen again and are announced again.
	n.Enqueue(ro, corev1.EventTypeWarning, "RolloutAborted", "Rollout aborted update to revision 2")
	n.Enqueue(ro, corev1.EventTypeWarning, "RolloutAborted", "Rollout aborted update to revision 2")
	stepCompleted(n)
	g.Eventually(rcv.received).Should(Equal([]string{
		"/rollout-step-completed backend-canary revision 2 step 0",
		"/rollout-aborted backend-canary revision 2 step 0",
		"/rollout-step-completed backend-canary revision 2 step 0",
	}))
	g.Consistently(rcv.received, 2*time.Second, 100*time.Millisecond).Should(HaveLen(3))
}
