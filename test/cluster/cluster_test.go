package cluster_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/switchyard-dev/switchyard/test/cluster"
)

var env *cluster.Cluster

func TestMain(m *testing.M) { os.Exit(cluster.Main(m, &env)) }

func newClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	client, err := kubernetes.NewForConfig(env.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func newNamespace(t *testing.T, client kubernetes.Interface) string {
	t.Helper()
	ns, err := client.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "cluster-test-"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

func TestStartupTime(t *testing.T) {
	if env.StartupTime <= 0 {
		t.Fatalf("startup time not measured")
	}
	t.Logf("cluster started in %s", env.StartupTime)
}

func TestNodeGroups(t *testing.T) {
	g := NewWithT(t)
	nodes, err := newClient(t).CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	private, pods := 0, int64(0)
	for _, n := range nodes.Items {
		if n.Labels[cluster.SubnetTypeLabel] == cluster.PrivateSubnet {
			private++
			g.Expect(n.Spec.Taints).To(ContainElement(HaveField("Key", cluster.SubnetTypeLabel)))
		}
		pods += n.Status.Allocatable.Pods().Value()
	}
	g.Expect(private).To(BeNumerically(">", 0))
	g.Expect(len(nodes.Items)).To(BeNumerically(">", private))
	g.Expect(pods).To(BeNumerically(">=", 2000))
}

func TestDeploymentGetsReadyEndpointsAndIsCollected(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	client := newClient(t)
	ns := newNamespace(t, client)
	labels := map[string]string{"app": "web"}

	_, err := client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = client.AppsV1().Deployments(ns).Create(ctx, deployment("web", labels, 3, "nginx:1"), metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())

	g.Eventually(func() int32 {
		d, err := client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return -1
		}
		return d.Status.ReadyReplicas
	}, time.Minute, 200*time.Millisecond).Should(Equal(int32(3)))

	g.Eventually(func() int {
		slices, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
		if err != nil {
			return -1
		}
		ready := 0
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if ptr.Deref(e.Conditions.Ready, false) {
					ready++
				}
			}
		}
		return ready
	}, time.Minute, 200*time.Millisecond).Should(Equal(3))

	g.Expect(client.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{})).To(Succeed())
	g.Eventually(func() int {
		rs, err1 := client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		pods, err2 := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err1 != nil || err2 != nil {
			return -1
		}
		return len(rs.Items) + len(pods.Items)
	}, time.Minute, 200*time.Millisecond).Should(BeZero())
}

// TestRestartAPIServer: kube-apiserver killed and started again on the same
// port and etcd keeps the cluster's state, clients made before the restart
// go on working, and the other components reconnect (a Deployment created
// afterwards gets Ready pods and endpoints).
func TestRestartAPIServer(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	client := newClient(t)
	ns := newNamespace(t, client)
	_, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "before"},
		Data:       map[string]string{"k": "v"},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	server := env.Server

	g.Expect(env.RestartAPIServer(ctx, time.Second)).To(Succeed())

	g.Expect(env.Server).To(Equal(server))
	cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, "before", metav1.GetOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cm.Data).To(HaveKeyWithValue("k", "v"))

	labels := map[string]string{"app": "after"}
	_, err = client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "after"},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = client.AppsV1().Deployments(ns).Create(ctx, deployment("after", labels, 2, "nginx:1"), metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func() int {
		slices, err := client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=after"})
		if err != nil {
			return -1
		}
		ready := 0
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if ptr.Deref(e.Conditions.Ready, false) {
					ready++
				}
			}
		}
		return ready
	}, 2*time.Minute, 200*time.Millisecond).Should(Equal(2))
}

func TestSeedSchedulingRules(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	client := newClient(t)
	ns := newNamespace(t, client)

	// The seed's pod spec: tolerates the private taint and requires the
	// private group by node affinity.
	seed := deployment("seed", map[string]string{"app": "seed"}, 2, "backend:latest")
	seed.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "subnettype", Operator: corev1.TolerationOpEqual, Value: "private", Effect: corev1.TaintEffectNoSchedule}}
	seed.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "subnettype", Operator: corev1.NodeSelectorOpIn, Values: []string{"private"}}},
		}}},
	}}
	plain := deployment("plain", map[string]string{"app": "plain"}, 4, "backend:latest")
	for _, d := range []*appsv1.Deployment{seed, plain} {
		_, err := client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
	}

	nodeOf := func(app string) func() []string {
		return func() []string {
			pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
			if err != nil {
				return nil
			}
			var nodes []string
			for _, p := range pods.Items {
				nodes = append(nodes, p.Spec.NodeName)
			}
			return nodes
		}
	}
	g.Eventually(nodeOf("seed"), time.Minute, 200*time.Millisecond).Should(SatisfyAll(HaveLen(2), HaveEach(HavePrefix("private-"))))
	g.Eventually(nodeOf("plain"), time.Minute, 200*time.Millisecond).Should(SatisfyAll(HaveLen(4), HaveEach(HavePrefix("default-"))))
}

func TestSimulatedFailures(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	client := newClient(t)
	ns := newNamespace(t, client)

	for _, image := range []string{"backend:unready", "backend:crashloop", "backend:ok"} {
		name := strings.ReplaceAll(strings.Split(image, ":")[1], "ok", "control")
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
		}
		_, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
	}
	get := func(name string) func() *corev1.Pod {
		return func() *corev1.Pod {
			p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil
			}
			return p
		}
	}
	// The control pod becomes ready: only then is "never ready" meaningful.
	g.Eventually(get("control"), time.Minute, 200*time.Millisecond).Should(WithTransform(podReady, BeTrue()))
	g.Eventually(get("crashloop"), time.Minute, 200*time.Millisecond).Should(WithTransform(waitingReason, Equal("CrashLoopBackOff")))
	g.Consistently(get("unready"), 3*time.Second, 200*time.Millisecond).Should(SatisfyAll(
		WithTransform(func(p *corev1.Pod) corev1.PodPhase { return p.Status.Phase }, Equal(corev1.PodRunning)),
		WithTransform(podReady, BeFalse()),
	))
	g.Expect(podReady(get("crashloop")())).To(BeFalse())

	// Deletion completes promptly: no kubelet holds the pod.
	g.Expect(client.CoreV1().Pods(ns).Delete(ctx, "control", metav1.DeleteOptions{})).To(Succeed())
	g.Eventually(func() bool {
		_, err := client.CoreV1().Pods(ns).Get(ctx, "control", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, 20*time.Second, 100*time.Millisecond).Should(BeTrue())
}

// TestSimulatedJobs: a Job's pod whose image is tagged :succeed or :fail
// exits after the exit delay, so the Job controller completes or fails the
// Job.
func TestSimulatedJobs(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	client := newClient(t)
	ns := newNamespace(t, client)

	for _, image := range []string{"check:succeed", "check:fail"} {
		name := strings.Split(image, ":")[1]
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: batchv1.JobSpec{
				BackoffLimit: ptr.To[int32](0),
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"switchyard.dev/exit-delay": "2s"}},
					Spec: corev1.PodSpec{
						RestartPolicy: corev1.RestartPolicyNever,
						Containers:    []corev1.Container{{Name: "check", Image: image}},
					},
				},
			},
		}
		_, err := client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
	}
	condition := func(name string) func() string {
		return func() string {
			j, err := client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return ""
			}
			for _, c := range j.Status.Conditions {
				if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
					return string(c.Type)
				}
			}
			return ""
		}
	}
	// Running (not finished) while the delay lasts.
	g.Consistently(condition("succeed"), time.Second, 100*time.Millisecond).Should(BeEmpty())
	g.Eventually(condition("succeed"), time.Minute, 200*time.Millisecond).Should(Equal(string(batchv1.JobComplete)))
	g.Eventually(condition("fail"), time.Minute, 200*time.Millisecond).Should(Equal(string(batchv1.JobFailed)))
}

func podReady(p *corev1.Pod) bool {
	if p == nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func waitingReason(p *corev1.Pod) string {
	if p == nil || len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Waiting == nil {
		return ""
	}
	return p.Status.ContainerStatuses[0].State.Waiting.Reason
}

func deployment(name string, labels map[string]string, replicas int32, image string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}
