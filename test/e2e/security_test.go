package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// access is one request a ServiceAccount may or may not make: verbs on a
// group's resource ("rollouts", "rollouts/status"). The namespace is the
// install's own (own) or any other one.
type access struct {
	group, resource string
	// name, when set, is the one object of the resource the request names.
	name  string
	verbs []string
	own   bool
}

func (a access) String() string {
	where := "any namespace"
	if a.own {
		where = "its own namespace"
	}
	resource := a.resource
	if a.group != "" {
		resource += "." + a.group
	}
	if a.name != "" {
		resource += " " + a.name
	}
	return fmt.Sprintf("%s %s in %s", strings.Join(a.verbs, ","), resource, where)
}

// leastPrivilege is the allow-list of one binary: what it must be allowed
// (exactly what its code needs) and, for the record, what it must not be.
type leastPrivilege struct {
	serviceAccount string
	allowed        []access
	denied         []access
}

var (
	allVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

	leaderElection = []access{
		{group: "coordination.k8s.io", resource: "leases", verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}, own: true},
	}

	controllerPrivileges = leastPrivilege{
		serviceAccount: controllerServiceAccount,
		allowed: append([]access{
			{group: "argoproj.io", resource: "rollouts", verbs: []string{"get", "list", "watch", "update", "patch"}},
			{group: "argoproj.io", resource: "rollouts/status", verbs: []string{"get", "update", "patch"}},
			{group: "argoproj.io", resource: "rollouts/scale", verbs: []string{"get", "update", "patch"}},
			{group: "apps", resource: "replicasets", verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
			{group: "apps", resource: "deployments", verbs: []string{"get", "list", "watch", "patch"}},
			// Create and delete: an Experiment's templates may ask for a
			// Service of their own.
			{resource: "services", verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
			// Watched: the cached EndpointSlices of the Services a Rollout
			// names say when its new pods are ready endpoints.
			{group: "discovery.k8s.io", resource: "endpointslices", verbs: []string{"get", "list", "watch"}},
			{resource: "pods", verbs: []string{"list", "patch"}},
			{resource: "pods/eviction", verbs: []string{"create"}},
			{resource: "podtemplates", verbs: []string{"get", "list", "watch"}},
			{resource: "events", verbs: []string{"create", "patch"}},
			{group: "events.k8s.io", resource: "events", verbs: []string{"create", "patch"}},
			// Analysis: runs (a Rollout creates its own), their templates
			// and Job metrics; a Secret only by name, for an argument a
			// template takes from secretKeyRef.
			{group: "argoproj.io", resource: "analysisruns", verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
			{group: "argoproj.io", resource: "analysistemplates", verbs: []string{"get", "list", "watch"}},
			{group: "argoproj.io", resource: "clusteranalysistemplates", verbs: []string{"get", "list", "watch"}},
			{group: "batch", resource: "jobs", verbs: []string{"get", "list", "watch", "create", "delete"}},
			// Experiments: a canary's experiment step creates its own,
			// terminates and prunes them.
			{group: "argoproj.io", resource: "experiments", verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
			{resource: "secrets", verbs: []string{"get"}},
			// Notifications: the ConfigMap and Secret of the reference's
			// names, in its own namespace, by name only.
			{resource: "configmaps", name: "argo-rollouts-notification-configmap", verbs: []string{"get"}, own: true},
			{resource: "secrets", name: "argo-rollouts-notification-secret", verbs: []string{"get"}, own: true},
			// Traffic routers: the objects a Rollout names.
			{group: "networking.k8s.io", resource: "ingresses", verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
			{group: "gateway.networking.k8s.io", resource: "httproutes", verbs: []string{"get", "list", "watch", "update", "patch"}},
			{group: "gateway.networking.k8s.io", resource: "grpcroutes", verbs: []string{"get", "list", "watch", "update", "patch"}},
			{group: "gateway.networking.k8s.io", resource: "tcproutes", verbs: []string{"get", "list", "watch", "update", "patch"}},
			{group: "gateway.networking.k8s.io", resource: "tlsroutes", verbs: []string{"get", "list", "watch", "update", "patch"}},
			{group: "networking.istio.io", resource: "virtualservices", verbs: []string{"get", "list", "watch", "update", "patch"}},
			{group: "networking.istio.io", resource: "destinationrules", verbs: []string{"get", "list", "watch", "update", "patch"}},
		}, leaderElection...),
		denied: []access{
			// The Rollout controller cannot enumerate or change Secrets,
			// nor read ConfigMaps.
			{resource: "secrets", verbs: []string{"list", "watch", "create", "update", "patch", "delete"}},
			{resource: "secrets", verbs: []string{"list", "watch", "create", "update", "patch", "delete"}, own: true},
			{resource: "configmaps", verbs: allVerbs},
			{resource: "configmaps", verbs: allVerbs, own: true},
			{resource: "configmaps", name: "argo-rollouts-notification-configmap", verbs: []string{"get"}},
			{resource: "configmaps", name: "argo-rollouts-notification-configmap", verbs: []string{"list", "watch", "create", "update", "patch", "delete"}, own: true},
			{resource: "pods", verbs: []string{"get", "create", "update", "delete", "deletecollection"}},
			{resource: "pods/exec", verbs: []string{"create", "get"}},
			{resource: "serviceaccounts/token", verbs: []string{"create"}},
			{group: "apps", resource: "replicasets", verbs: []string{"deletecollection"}},
			{group: "apps", resource: "deployments", verbs: []string{"create", "update", "delete"}},
			{group: "argoproj.io", resource: "rollouts", verbs: []string{"create", "delete"}},
			{group: "argoproj.io", resource: "applications", verbs: allVerbs},
			{group: "images.switchyard.dev", resource: "imageupdaters", verbs: allVerbs},
			{group: "argocd-image-updater.argoproj.io", resource: "imageupdaters", verbs: allVerbs},
			{group: "coordination.k8s.io", resource: "leases", verbs: []string{"create", "update"}},
			{group: "rbac.authorization.k8s.io", resource: "roles", verbs: []string{"create", "bind", "escalate"}},
		},
	}

	imageUpdaterPrivileges = leastPrivilege{
		serviceAccount: imageUpdaterServiceAccount,
		allowed: append([]access{
			{group: "images.switchyard.dev", resource: "imageupdaters", verbs: []string{"get", "list", "watch"}},
			{group: "images.switchyard.dev", resource: "imageupdaters/status", verbs: []string{"get", "update", "patch"}},
			// argocd-image-updater's API; patch only drops the reference
			// controller's finalizer from an ImageUpdater being deleted.
			{group: "argocd-image-updater.argoproj.io", resource: "imageupdaters", verbs: []string{"get", "list", "watch", "patch"}},
			{group: "argocd-image-updater.argoproj.io", resource: "imageupdaters/status", verbs: []string{"get", "update", "patch"}},
			// Pull, CA and git Secrets named by an ImageUpdater: by name only.
			{resource: "secrets", verbs: []string{"get"}},
			{resource: "configmaps", verbs: []string{"get"}},
			// An argocd-image-updater ImageUpdater selects Applications by
			// name pattern and labels: list.
			{group: "argoproj.io", resource: "applications", verbs: []string{"get", "list", "patch"}},
			{group: "argoproj.io", resource: "rollouts", verbs: []string{"get", "patch"}},
			{group: "apps", resource: "deployments", verbs: []string{"get", "patch"}},
			{resource: "events", verbs: []string{"create", "patch"}},
			{group: "events.k8s.io", resource: "events", verbs: []string{"create", "patch"}},
		}, leaderElection...),
		denied: []access{
			// The image updater cannot delete pods or touch ReplicaSets.
			{resource: "pods", verbs: allVerbs},
			{resource: "pods/eviction", verbs: []string{"create"}},
			{group: "apps", resource: "replicasets", verbs: allVerbs},
			{group: "apps", resource: "replicasets/scale", verbs: []string{"update", "patch"}},
			// It cannot enumerate Secrets.
			{resource: "secrets", verbs: []string{"list", "watch", "create", "update", "patch", "delete"}},
			{resource: "services", verbs: allVerbs},
			{group: "argoproj.io", resource: "rollouts", verbs: []string{"list", "watch", "create", "update", "delete"}},
			{group: "argoproj.io", resource: "rollouts/status", verbs: []string{"update", "patch"}},
			{group: "argoproj.io", resource: "rollouts/scale", verbs: []string{"update", "patch"}},
			{group: "apps", resource: "deployments", verbs: []string{"list", "create", "update", "delete"}},
			{group: "apps", resource: "deployments/scale", verbs: []string{"update", "patch"}},
			{group: "images.switchyard.dev", resource: "imageupdaters", verbs: []string{"create", "update", "patch", "delete"}},
			{group: "argocd-image-updater.argoproj.io", resource: "imageupdaters", verbs: []string{"create", "update", "delete"}},
			{group: "argoproj.io", resource: "applications", verbs: []string{"watch", "create", "update", "delete"}},
			{group: "coordination.k8s.io", resource: "leases", verbs: []string{"create", "update"}},
			{group: "rbac.authorization.k8s.io", resource: "roles", verbs: []string{"create", "bind", "escalate"}},
		},
	}
)

// TestLeastPrivilege applies the generated installs and asks kube-apiserver,
// with SubjectAccessReviews, what each binary's ServiceAccount may do: every
// allow-listed request is allowed, every denied one is denied, in the
// namespaces the install covers (any for install.yaml, its own for
// namespace-install.yaml) and nowhere else. A SelfSubjectRulesReview made
// with each ServiceAccount's own token then checks that it holds no rule
// beyond the allow-list (and what every authenticated user has).
func TestLeastPrivilege(t *testing.T) {
	e := newBareTestEnv(t)
	e.applyInstalls()
	// What any ServiceAccount holds without a binding of its own.
	_, err := e.kube.CoreV1().ServiceAccounts(e.ns).Create(context.Background(),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "unbound"}}, metav1.CreateOptions{})
	e.g.Expect(err).NotTo(HaveOccurred())
	baseline := e.rulesOf("unbound", e.ns, "apps")
	for _, in := range installs {
		clusterWide := in.file == "install.yaml"
		for _, lp := range []leastPrivilege{controllerPrivileges, imageUpdaterPrivileges} {
			t.Run(in.file+"/"+lp.serviceAccount, func(t *testing.T) {
				g := NewWithT(t)
				for _, a := range lp.allowed {
					where := "apps"
					if a.own || !clusterWide {
						where = in.namespace
					}
					g.Expect(e.denied(in.namespace, lp.serviceAccount, where, a)).To(BeEmpty(), "%s must be allowed in %s", a, where)
					if !clusterWide && !a.own {
						// A namespace install grants nothing outside its namespace.
						g.Expect(e.allowed(in.namespace, lp.serviceAccount, "apps", a)).To(BeEmpty(), "%s must be denied in apps", a)
					}
				}
				for _, a := range lp.denied {
					where := "apps"
					if a.own {
						where = in.namespace
					}
					g.Expect(e.allowed(in.namespace, lp.serviceAccount, where, a)).To(BeEmpty(), "%s must be denied in %s", a, where)
				}

				// No rule beyond the allow-list, in another namespace and
				// in the install's own.
				for _, ns := range []string{"apps", in.namespace} {
					extra := e.rulesOf(lp.serviceAccount, in.namespace, ns).Difference(baseline).Difference(lp.expand(ns == in.namespace, clusterWide || ns == in.namespace))
					g.Expect(sets.List(extra)).To(BeEmpty(), "rules of %s in %s beyond its allow-list", lp.serviceAccount, ns)
				}
			})
		}
	}
}

// expand lists the allow-list as "verb resource.group" strings that apply in
// a namespace (own: the install's; covered: the install grants anything
// there at all).
func (lp leastPrivilege) expand(own, covered bool) sets.Set[string] {
	out := sets.New[string]()
	for _, a := range lp.allowed {
		if (a.own && !own) || !covered {
			continue
		}
		for _, v := range a.verbs {
			out.Insert(v + " " + a.resource + "." + a.group)
		}
	}
	return out
}

// allowed returns the verbs of a that serviceAccount (in saNamespace) may
// use in namespace; denied those it may not.
func (e *testEnv) allowed(saNamespace, serviceAccount, namespace string, a access) []string {
	return e.review(saNamespace, serviceAccount, namespace, a, true)
}

func (e *testEnv) denied(saNamespace, serviceAccount, namespace string, a access) []string {
	return e.review(saNamespace, serviceAccount, namespace, a, false)
}

func (e *testEnv) review(saNamespace, serviceAccount, namespace string, a access, want bool) []string {
	e.t.Helper()
	resource, subresource, _ := strings.Cut(a.resource, "/")
	var out []string
	for _, verb := range a.verbs {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:" + saNamespace + ":" + serviceAccount,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + saNamespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: namespace, Verb: verb, Group: a.group, Resource: resource, Subresource: subresource, Name: a.name,
			},
		}}
		res, err := e.kube.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), sar, metav1.CreateOptions{})
		e.g.Expect(err).NotTo(HaveOccurred())
		if res.Status.Allowed == want {
			out = append(out, verb)
		}
	}
	return out
}

// rulesOf returns what the ServiceAccount may do in namespace, from a
// SelfSubjectRulesReview made with its own token, as "verb resource.group"
// strings (rules limited to resource names included).
func (e *testEnv) rulesOf(serviceAccount, saNamespace, namespace string) sets.Set[string] {
	e.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", e.serviceAccountKubeconfig(saNamespace, serviceAccount))
	e.g.Expect(err).NotTo(HaveOccurred())
	kube, err := kubernetes.NewForConfig(cfg)
	e.g.Expect(err).NotTo(HaveOccurred())
	review, err := kube.AuthorizationV1().SelfSubjectRulesReviews().Create(context.Background(),
		&authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: namespace}}, metav1.CreateOptions{})
	e.g.Expect(err).NotTo(HaveOccurred())
	e.g.Expect(review.Status.EvaluationError).To(BeEmpty())
	out := sets.New[string]()
	for _, r := range review.Status.ResourceRules {
		e.g.Expect(slices.Contains(r.Verbs, "*") || slices.Contains(r.Resources, "*") || slices.Contains(r.APIGroups, "*")).
			To(BeFalse(), "%s holds a wildcard rule %+v", serviceAccount, r)
		for _, group := range r.APIGroups {
			for _, resource := range r.Resources {
				for _, verb := range r.Verbs {
					out.Insert(verb + " " + resource + "." + group)
				}
			}
		}
	}
	return out
}
