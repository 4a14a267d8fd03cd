package clustertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
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
	r, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:" + saNamespace + ":" + sa,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + saNamespace},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: verb, Group: group, Resource: resource, Namespace: namespace,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Status.Allowed
}

// TestHelmInstall installs the chart cluster-wide, then (the first release
// uninstalled: the ClusterRoles are cluster-scoped) namespace-scoped, and
// checks each time that the API server took every object, that the pods
// pass the restricted Pod Security admission and become available, and
// what each ServiceAccount may do.
func TestHelmInstall(t *testing.T) {
	ctx := t.Context()
	client := kubernetes.NewForConfigOrDie(env.RESTConfig)
	chrt, err := loader.Load("../switchyard")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, namespace string
		vals            map[string]any
		replicas        int32
		// whether the controller may list Rollouts in all namespaces.
		clusterWide bool
	}{
		{name: "cluster-wide", namespace: "switchyard-system", replicas: 2, clusterWide: true,
			vals: map[string]any{
				"controller": map[string]any{"replicas": 2},
				"metrics":    map[string]any{"service": map[string]any{"enabled": true}},
			}},
		{name: "namespaced", namespace: "team-a", replicas: 1,
			vals: map[string]any{"namespaced": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restrictedNamespace(ctx, t, client, tc.namespace)
			cfg := helmConfig(t, tc.namespace)
			install := action.NewInstall(cfg)
			install.ReleaseName = releaseName
			install.Namespace = tc.namespace
			install.Timeout = 2 * time.Minute
			rel, err := install.Run(chrt, tc.vals)
			if err != nil {
				t.Fatalf("helm install: %v", err)
			}
			t.Logf("release %s revision %d: %s", rel.Name, rel.Version, rel.Info.Status)
			// Uninstall, even after a failure: the release's objects go,
			// the CRDs stay (Helm never deletes crds/), and the next case
			// can install.
			t.Cleanup(func() {
				ctx := context.WithoutCancel(ctx)
				if _, err := action.NewUninstall(cfg).Run(releaseName); err != nil {
					t.Errorf("helm uninstall: %v", err)
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

			for _, crd := range []string{"rollouts.argoproj.io", "imageupdaters.images.switchyard.dev", "imageupdaters.argocd-image-updater.argoproj.io"} {
				if err := client.Discovery().RESTClient().Get().
					AbsPath("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd).
					Do(ctx).Error(); err != nil {
					t.Errorf("CRD %s: %v", crd, err)
				}
			}
			waitAvailable(ctx, t, client, tc.namespace, "switchyard-controller", tc.replicas)
			waitAvailable(ctx, t, client, tc.namespace, "switchyard-image-updater", 1)
			if _, err := client.CoreV1().Services(tc.namespace).Get(ctx, "switchyard-controller-metrics", metav1.GetOptions{}); tc.vals["metrics"] != nil && err != nil {
				t.Errorf("metrics Service: %v", err)
			}

			// What the controller may do: Rollouts in its namespace in
			// both modes, elsewhere only cluster-wide; the notification
			// Secret by name, and its Lease, in its own namespace.
			if !allowed(ctx, t, client, "switchyard", tc.namespace, "list", "argoproj.io", "rollouts", tc.namespace) {
				t.Errorf("controller may not list Rollouts in %s", tc.namespace)
			}
			if got := allowed(ctx, t, client, "switchyard", tc.namespace, "list", "argoproj.io", "rollouts", "default"); got != tc.clusterWide {
				t.Errorf("controller may list Rollouts in default: %v, want %v", got, tc.clusterWide)
			}
			if got := allowed(ctx, t, client, "switchyard", tc.namespace, "list", "argoproj.io", "rollouts", ""); got != tc.clusterWide {
				t.Errorf("controller may list Rollouts in all namespaces: %v, want %v", got, tc.clusterWide)
			}
			if !allowed(ctx, t, client, "switchyard", tc.namespace, "update", "coordination.k8s.io", "leases", tc.namespace) {
				t.Errorf("controller may not update its Lease in %s", tc.namespace)
			}
			if got := allowed(ctx, t, client, "switchyard-image-updater", tc.namespace, "watch", "images.switchyard.dev", "imageupdaters", "default"); got != tc.clusterWide {
				t.Errorf("image updater may watch ImageUpdaters in default: %v, want %v", got, tc.clusterWide)
			}
			if allowed(ctx, t, client, "switchyard-image-updater", tc.namespace, "create", "apps", "replicasets", tc.namespace) {
				t.Errorf("image updater may create ReplicaSets")
			}

		})
	}
}
