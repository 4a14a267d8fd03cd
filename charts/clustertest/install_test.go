package clustertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
)

const releaseName = "switchyard"

// helmConfig is Helm's action configuration for a namespace of the local
// cluster, its release records stored as Secrets (Helm's default driver).
func helmConfig(t *testing.T, namespace string) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &env.Kubeconfig
	flags.Namespace = &namespace
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, namespace, "secret", t.Logf); err != nil {
		t.Fatalf("helm configuration: %v", err)
	}
	return cfg
}

// restrictedNamespace creates a namespace that admits only pods meeting
// the restricted Pod Security Standard, as the README's install labels it.
func restrictedNamespace(ctx context.Context, t *testing.T, client kubernetes.Interface, name string) {
	t.Helper()
	_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   name,
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// waitAvailable polls until the Deployment has all its replicas available
// (the local cluster's simulated nodes run the pods the API server admits).
func waitAvailable(ctx context.Context, t *testing.T, client kubernetes.Interface, namespace, name string, replicas int32) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = fmt.Sprintf("replicas %d, available %d, conditions %v", d.Status.Replicas, d.Status.AvailableReplicas, d.Status.Conditions)
		return d.Status.AvailableReplicas == replicas && d.Status.Replicas == replicas, nil
	})
	if err != nil {
		// Say why: e.g. a pod the Pod Security admission refused.
		events, _ := client.CoreV1().Events(namespace).List(context.WithoutCancel(ctx), metav1.ListOptions{FieldSelector: "reason=FailedCreate"})
		var why []string
		for _, e := range events.Items {
			why = append(why, e.InvolvedObject.Name+": "+e.Message)
		}
		t.Fatalf("Deployment %s/%s not available: %v (%s); FailedCreate events: %q", namespace, name, err, last, why)
	}
}

// allowed asks the API server's authorizer whether a ServiceAccount may do
// verb on a resource in a namespace ("" for all namespaces).
func allowed(ctx context.Context, t *testing.T, client kubernetes.Interface, sa, saNamespace, verb, group, resource, namespace string) bool {
	t.Helper()
	return allowedName(ctx, t, client, sa, saNamespace, verb, group, resource, namespace, "")
}

// allowedName is allowed for one object by name ("" for any).
func allowedName(ctx context.Context, t *testing.T, client kubernetes.Interface, sa, saNamespace, verb, group, resource, namespace, name string) bool {
	t.Helper()
	r, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:" + saNamespace + ":" + sa,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + saNamespace},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: verb, Group: group, Resource: resource, Namespace: namespace, Name: name,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status.Allowed
}

// TestHelmInstall installs the chart cluster-wide, then (that release
// uninstalled: its ClusterRoles are cluster-scoped) namespace-scoped in two
// namespaces side by side, as one release per shard, and checks each time
// that the API server took every object, that the pods pass the restricted
// Pod Security admission and become available, and what each
// ServiceAccount may do.
func TestHelmInstall(t *testing.T) {
	ctx := t.Context()
	client := kubernetes.NewForConfigOrDie(env.RESTConfig)
	chrt, err := loader.Load("../switchyard")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		// namespaces get a release each, installed one after the other
		// and all kept until the case ends.
		namespaces []string
		vals       map[string]any
		replicas   int32
		// whether the controller may list Rollouts in all namespaces.
		clusterWide bool
	}{
		{name: "cluster-wide", namespaces: []string{"switchyard-system"}, replicas: 2, clusterWide: true,
			vals: map[string]any{
				"controller": map[string]any{"replicas": 2},
				"metrics":    map[string]any{"service": map[string]any{"enabled": true}},
			}},
		{name: "namespaced", namespaces: []string{"team-a", "team-b"}, replicas: 1,
			vals: map[string]any{"namespaced": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ns := range tc.namespaces {
				installRelease(ctx, t, client, chrt, ns, tc.vals)
			}
			if !tc.clusterWide {
				// Nothing cluster-scoped but the CRDs: a namespace's admin
				// can install, and releases do not share objects.
				for _, name := range []string{"switchyard", "switchyard-image-updater"} {
					if _, err := client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
						t.Errorf("ClusterRole %s in namespaced mode: %v", name, err)
					}
				}
			}
			for _, crd := range []string{"rollouts.argoproj.io", "imageupdaters.images.switchyard.dev", "imageupdaters.argocd-image-updater.argoproj.io"} {
				if err := client.Discovery().RESTClient().Get().
					AbsPath("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd).
					Do(ctx).Error(); err != nil {
					t.Errorf("CRD %s: %v", crd, err)
				}
			}
			for _, ns := range tc.namespaces {
				checkRelease(ctx, t, client, ns, tc.vals, tc.replicas, tc.clusterWide)
			}
			if len(tc.namespaces) > 1 {
				a, b := tc.namespaces[0], tc.namespaces[1]
				if allowed(ctx, t, client, "switchyard", a, "list", "argoproj.io", "rollouts", b) {
					t.Errorf("the controller of %s may list Rollouts in %s", a, b)
				}
				if allowed(ctx, t, client, "switchyard", b, "get", "", "secrets", a) {
					t.Errorf("the controller of %s may read Secrets in %s", b, a)
				}
			}
		})
	}
}

// installRelease installs the chart into a new restricted namespace and
// uninstalls it when the test ends, even after a failure: the release's
// objects go, the CRDs stay (Helm never deletes crds/), and the next case
// can install.
func installRelease(ctx context.Context, t *testing.T, client kubernetes.Interface, chrt *chart.Chart, namespace string, vals map[string]any) {
	t.Helper()
	restrictedNamespace(ctx, t, client, namespace)
	cfg := helmConfig(t, namespace)
	install := action.NewInstall(cfg)
	install.ReleaseName = releaseName
	install.Namespace = namespace
	install.Timeout = 2 * time.Minute
	rel, err := install.Run(chrt, vals)
	if err != nil {
		t.Fatalf("helm install into %s: %v", namespace, err)
	}
	t.Logf("release %s/%s revision %d: %s", namespace, rel.Name, rel.Version, rel.Info.Status)
	t.Cleanup(func() {
		ctx := context.WithoutCancel(ctx)
		if _, err := action.NewUninstall(cfg).Run(releaseName); err != nil {
			t.Errorf("helm uninstall from %s: %v", namespace, err)
			return
		}
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := client.RbacV1().ClusterRoles().Get(ctx, "switchyard", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Errorf("ClusterRole switchyard still there after helm uninstall: %v", err)
		}
	})
}

// checkRelease checks a release's Deployments are available and what its
// ServiceAccounts may do.
func checkRelease(ctx context.Context, t *testing.T, client kubernetes.Interface, namespace string, vals map[string]any, replicas int32, clusterWide bool) {
	t.Helper()
	waitAvailable(ctx, t, client, namespace, "switchyard-controller", replicas)
	waitAvailable(ctx, t, client, namespace, "switchyard-image-updater", 1)
	if _, err := client.CoreV1().Services(namespace).Get(ctx, "switchyard-controller-metrics", metav1.GetOptions{}); vals["metrics"] != nil && err != nil {
		t.Errorf("metrics Service: %v", err)
	}

	// What the controller may do: Rollouts in its namespace in both
	// modes, elsewhere only cluster-wide; the notification Secret by
	// name, and its Lease, in its own namespace.
	if !allowed(ctx, t, client, "switchyard", namespace, "list", "argoproj.io", "rollouts", namespace) {
		t.Errorf("controller may not list Rollouts in %s", namespace)
	}
	if got := allowed(ctx, t, client, "switchyard", namespace, "list", "argoproj.io", "rollouts", "default"); got != clusterWide {
		t.Errorf("controller of %s may list Rollouts in default: %v, want %v", namespace, got, clusterWide)
	}
	if got := allowed(ctx, t, client, "switchyard", namespace, "list", "argoproj.io", "rollouts", ""); got != clusterWide {
		t.Errorf("controller of %s may list Rollouts in all namespaces: %v, want %v", namespace, got, clusterWide)
	}
	if !allowed(ctx, t, client, "switchyard", namespace, "update", "coordination.k8s.io", "leases", namespace) {
		t.Errorf("controller may not update its Lease in %s", namespace)
	}
	if !allowedName(ctx, t, client, "switchyard", namespace, "get", "", "secrets", namespace, "argo-rollouts-notification-secret") {
		t.Errorf("controller may not read the notification Secret in %s", namespace)
	}
	if got := allowed(ctx, t, client, "switchyard-image-updater", namespace, "watch", "images.switchyard.dev", "imageupdaters", "default"); got != clusterWide {
		t.Errorf("image updater of %s may watch ImageUpdaters in default: %v, want %v", namespace, got, clusterWide)
	}
	if !allowed(ctx, t, client, "switchyard-image-updater", namespace, "watch", "images.switchyard.dev", "imageupdaters", namespace) {
		t.Errorf("image updater may not watch ImageUpdaters in %s", namespace)
	}
	if allowed(ctx, t, client, "switchyard-image-updater", namespace, "create", "apps", "replicasets", namespace) {
		t.Errorf("image updater may create ReplicaSets")
	}
}
