package eventrecorder

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/switchyard-dev/switchyard/test/cluster"
)

// One real kube-apiserver for the package; each test its own namespace.
var env *cluster.Cluster

func TestMain(m *testing.M) { os.Exit(cluster.Main(m, &env)) }

func newClient(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func newNamespace(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "eventrecorder-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// start runs a Broadcaster until the test ends; stop ends it early and
// waits for Start to return.
func start(t *testing.T, cs kubernetes.Interface, opts Options) (b *Broadcaster, stop func()) {
	t.Helper()
	opts.Client, opts.Scheme, opts.Log = cs.EventsV1(), scheme.Scheme, logr.Discard()
	b = New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := b.Start(ctx); err != nil {
			t.Error(err)
		}
	})
	stop = func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return b, stop
}

// eventsAbout lists the Events in namespace ns about the object with uid.
func eventsAbout(g Gomega, cs kubernetes.Interface, ns, uid string) []eventsv1.Event {
	list, err := cs.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("regarding.uid", uid).String(),
	})
	g.Expect(err).NotTo(HaveOccurred())
	return list.Items
}

func (b *Broadcaster) cached() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.cache)
}

const poll = 20 * time.Second
