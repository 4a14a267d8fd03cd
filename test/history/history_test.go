package history_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/history"
)

var env *cluster.Cluster

func TestMain(m *testing.M) { os.Exit(cluster.Main(m, &env)) }

func setup(t *testing.T) (kubernetes.Interface, string) {
	t.Helper()
	kube, err := kubernetes.NewForConfig(env.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "history-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return kube, ns.Name
}

// configMaps and secrets record each object as "name=value" of its "v" key;
// only the test's configmaps (labelled), not the namespace's CA bundle.
func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Labels: map[string]string{"test": "history"}}
}

func configMaps(kube kubernetes.Interface, ns string) history.Source {
	return history.Source{
		Kind: "configmaps",
		ListerWatcher: &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.LabelSelector = "test=history"
				return kube.CoreV1().ConfigMaps(ns).List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.LabelSelector = "test=history"
				return kube.CoreV1().ConfigMaps(ns).Watch(ctx, o)
			},
		},
		Object: &corev1.ConfigMap{},
		Fact:   func(o runtime.Object) any { cm := o.(*corev1.ConfigMap); return cm.Name + "=" + cm.Data["v"] },
	}
}

func secrets(kube kubernetes.Interface, ns string) history.Source {
	return history.Source{
		Kind: "secrets",
		ListerWatcher: &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return kube.CoreV1().Secrets(ns).List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return kube.CoreV1().Secrets(ns).Watch(ctx, o)
			},
		},
		Object: &corev1.Secret{},
		Fact:   func(o runtime.Object) any { s := o.(*corev1.Secret); return s.Name + "=" + string(s.Data["v"]) },
	}
}

// TestReplayInCommitOrder: writes of two kinds, interleaved, come back in
// the order they were made, each with the state of both kinds at that
// moment.
func TestReplayInCommitOrder(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	kube, ns := setup(t)
	rec := history.New(ctx)
	defer rec.Stop()
	g.Expect(rec.Record(ctx, configMaps(kube, ns))).To(Succeed())
	g.Expect(rec.Record(ctx, secrets(kube, ns))).To(Succeed())

	cms, secs := kube.CoreV1().ConfigMaps(ns), kube.CoreV1().Secrets(ns)
	var want []string
	for i := range 5 {
		v := fmt.Sprint(i)
		cm := &corev1.ConfigMap{ObjectMeta: meta("a"), Data: map[string]string{"v": v}}
		var err error
		if i == 0 {
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		} else {
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		}
		g.Expect(err).NotTo(HaveOccurred())
		want = append(want, "configmaps a="+v)
		_, err = secs.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s" + v}, Data: map[string][]byte{"v": []byte(v)}}, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		want = append(want, "secrets s"+v+"="+v)
	}
	g.Expect(secs.Delete(ctx, "s0", metav1.DeleteOptions{})).To(Succeed())
	want = append(want, "deleted secrets s0=0")

	cutoff, err := rec.Settle(ctx, time.Minute)
	g.Expect(err).NotTo(HaveOccurred())
	var got []string
	var secretsWhenA3 int
	rec.Replay(cutoff, func(st history.State, c *history.Change) {
		if c == nil {
			g.Expect(st["configmaps"]).To(BeEmpty())
			return
		}
		s := c.Kind + " " + c.Fact.(string)
		if c.Deleted {
			s = "deleted " + s
		}
		got = append(got, s)
		if c.Fact == "a=3" {
			secretsWhenA3 = len(st["secrets"])
		}
	})
	g.Expect(got).To(Equal(want))
	// a=3 was written after s0, s1 and s2 were created.
	g.Expect(secretsWhenA3).To(Equal(3))
	g.Expect(rec.Gaps()).To(BeEmpty())
}

// TestRecordingSurvivesAPIServerRestart: a kube-apiserver killed and started
// again breaks the watches; the recording resumes (or lists again, and
// says so with a Gap) and ends at the true state.
func TestRecordingSurvivesAPIServerRestart(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	kube, ns := setup(t)
	rec := history.New(ctx)
	defer rec.Stop()
	g.Expect(rec.Record(ctx, configMaps(kube, ns))).To(Succeed())
	cms := kube.CoreV1().ConfigMaps(ns)
	_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: meta("x"), Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(env.RestartAPIServer(ctx, 0)).To(Succeed())
	_, err = cms.Update(ctx, &corev1.ConfigMap{ObjectMeta: meta("x"), Data: map[string]string{"v": "2"}}, metav1.UpdateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: meta("y"), Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())

	cutoff, err := rec.Settle(ctx, time.Minute)
	g.Expect(err).NotTo(HaveOccurred())
	var last history.State
	var xs []string
	rec.Replay(cutoff, func(st history.State, c *history.Change) {
		last = st
		if v, ok := st.Get("configmaps", ns+"/x").(string); ok && (len(xs) == 0 || xs[len(xs)-1] != v) {
			xs = append(xs, v)
		}
	})
	g.Expect(last["configmaps"]).To(Equal(map[string]any{ns + "/x": "x=2", ns + "/y": "y=1"}))
	g.Expect(xs).To(Equal([]string{"x=1", "x=2"}))
	for _, gap := range rec.Gaps() {
		t.Logf("listed again after the restart: %+v", gap)
		g.Expect(gap.ToRV).To(BeNumerically(">", gap.FromRV))
	}
}

// TestEtcdRecordingHasNoGaps: recorded from etcd, a kube-apiserver restart
// breaks nothing: every write before, during the restart's aftermath and
// after is seen one by one, in order.
func TestEtcdRecordingHasNoGaps(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	kube, ns := setup(t)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{env.EtcdURL}, DialTimeout: 10 * time.Second})
	g.Expect(err).NotTo(HaveOccurred())
	defer cli.Close()
	rec := history.New(ctx)
	defer rec.Stop()
	g.Expect(rec.Record(ctx, history.Source{
		Kind: "configmaps",
		ListerWatcher: history.EtcdListerWatcher(cli, "/registry/configmaps/"+ns+"/",
			func() runtime.Object { return &corev1.ConfigMapList{} }, serializer.NewCodecFactory(scheme.Scheme).UniversalDeserializer()),
		Object: &corev1.ConfigMap{},
		Fact:   func(o runtime.Object) any { cm := o.(*corev1.ConfigMap); return cm.Name + "=" + cm.Data["v"] },
	})).To(Succeed())
	cms := kube.CoreV1().ConfigMaps(ns)
	write := func(name, v string) {
		t.Helper()
		cm := &corev1.ConfigMap{ObjectMeta: meta(name), Data: map[string]string{"v": v}}
		_, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
		if err != nil {
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		}
		g.Expect(err).NotTo(HaveOccurred())
	}
	write("x", "1")
	g.Expect(env.RestartAPIServer(ctx, 0)).To(Succeed())
	write("x", "2")
	write("y", "1")
	write("x", "3")
	g.Expect(cms.Delete(ctx, "y", metav1.DeleteOptions{})).To(Succeed())

	cutoff, err := rec.Settle(ctx, time.Minute)
	g.Expect(err).NotTo(HaveOccurred())
	var seen []string
	rec.Replay(cutoff, func(_ history.State, c *history.Change) {
		if c != nil && !c.IsList() && c.Fact != "kube-root-ca.crt=" {
			s := c.Fact.(string)
			if c.Deleted {
				s = "deleted " + s
			}
			seen = append(seen, s)
		}
	})
	g.Expect(seen).To(Equal([]string{"x=1", "x=2", "y=1", "x=3", "deleted y=1"}))
	g.Expect(rec.Gaps()).To(BeEmpty())
}
