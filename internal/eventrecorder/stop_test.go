package eventrecorder

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// TestDrainOnStop: Events recorded before Start wait in the queue, and
// those still pending when the context ends are written during the drain;
// an Event recorded after the end is dropped.
func TestDrainOnStop(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	cs := newClient(t)
	ns := newNamespace(t, cs)
	b := New(Options{Client: cs.EventsV1(), Scheme: scheme.Scheme, Log: logr.Discard(), DrainTimeout: time.Minute})
	rec := b.Recorder("drain")
	const n = 300
	cm := func(i int) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Namespace: ns, UID: types.UID(fmt.Sprintf("%s-%d", ns, i))}}
	}
	for i := range n {
		rec.Eventf(cm(i), nil, corev1.EventTypeNormal, "Drain", "Record", "event %d", i)
	}
	// Started with its context already ended: it only drains.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g.Expect(b.Start(ctx)).To(Succeed())
	list, err := cs.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(list.Items).To(HaveLen(n))

	rec.Eventf(cm(n), nil, corev1.EventTypeNormal, "Drain", "Record", "too late")
	b.mu.Lock()
	defer b.mu.Unlock()
	g.Expect(b.queue).To(BeEmpty())
	g.Expect(b.cache).To(HaveLen(n))
}

// TestDrainIsBounded: with a server that never answers, Start returns once
// the drain timeout has passed, abandoning what is pending.
func TestDrainIsBounded(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
	g.Expect(err).NotTo(HaveOccurred())
	b := New(Options{Client: cs.EventsV1(), Scheme: scheme.Scheme, Log: logr.Discard(), DrainTimeout: 100 * time.Millisecond})
	rec := b.Recorder("bounded")
	for i := range 50 {
		rec.Eventf(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Namespace: "ns"}}, nil, corev1.EventTypeNormal, "Stuck", "Record", "event")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	returned := make(chan struct{})
	wg.Go(func() {
		defer close(returned)
		_ = b.Start(ctx)
	})
	// Every worker is waiting on the server.
	g.Eventually(func() int {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.queue)
	}, poll).Should(Equal(50 - DefaultWorkers))
	cancel()
	g.Eventually(returned, poll).Should(BeClosed())
	wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	g.Expect(b.queue).To(BeEmpty())
}
