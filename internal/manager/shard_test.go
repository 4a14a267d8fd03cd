package manager_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/switchyard-dev/switchyard/api/v1alpha1"
	"github.com/switchyard-dev/switchyard/internal/manager"
	"github.com/switchyard-dev/switchyard/test/cluster"
)

// shardIdentity is a user holding the controller's generated ClusterRole
// plus the leader-election Role's rules, as a shard's ServiceAccount would.
func shardIdentity(t *testing.T, g *WithT, user string) *rest.Config {
	t.Helper()
	root, err := cluster.RepoRoot()
	g.Expect(err).NotTo(HaveOccurred())
	data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	role, err := cluster.ClusterRoleOf(data)
	g.Expect(err).NotTo(HaveOccurred())
	data, err = os.ReadFile(filepath.Join(root, "config", "rbac", "leader_election_role.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	election := &rbacv1.Role{}
	// The Role is the file's first document.
	g.Expect(yaml.Unmarshal(data, election)).To(Succeed())
	g.Expect(election.Kind).To(Equal("Role"))
	role.Rules = append(role.Rules, election.Rules...)
	cfg, err := env.UserBoundTo(context.Background(), user, role)
	g.Expect(err).NotTo(HaveOccurred())
	return cfg
}

// progressed: the Rollout's controller saw its current spec and the
// revision of that spec is stable and Healthy.
func progressed(g Gomega, key types.NamespacedName) {
	ro := &v1alpha1.Rollout{}
	g.Expect(k8sClient.Get(context.Background(), key, ro)).To(Succeed())
	g.Expect(ro.Status.ObservedGeneration).To(Equal(strconv.FormatInt(ro.Generation, 10)), "%s observed", key)
	g.Expect(ro.Status.Phase).To(Equal(v1alpha1.RolloutPhaseHealthy), "%s phase", key)
	g.Expect(ro.Status.StableRS).To(And(Not(BeEmpty()), Equal(ro.Status.CurrentPodHash)), "%s stable", key)
}

// TestShards runs two controllers as two shards of one cluster, split by
// namespace (--namespace a list), each with its own identity and its own
// Lease in a shared namespace (--leader-election-id). Each Rollout is
// written by its shard only; stopping one shard stalls its Rollouts only,
// and starting it again resumes them.
func TestShards(t *testing.T) {
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(time.Minute)
	g.SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	ctx := context.Background()
	newNamespace := func(prefix string) string {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
		g.Expect(k8sClient.Create(ctx, ns)).To(Succeed())
		t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), ns) })
		return ns.Name
	}
	leases := newNamespace("shard-leases-")
	shardA := []string{newNamespace("shard-a-"), newNamespace("shard-a-")}
	shardB := []string{newNamespace("shard-b-")}

	optsA := manager.Options{Namespaces: shardA, LeaderElectionNamespace: leases, LeaderElectionID: "switchyard-shard-a"}
	optsB := manager.Options{Namespaces: shardB, LeaderElectionNamespace: leases, LeaderElectionID: "switchyard-shard-b"}
	userA := shardIdentity(t, g, "switchyard-shard-a")
	userB := shardIdentity(t, g, "switchyard-shard-b")
	cacheA, stopA := startWith(t, g, userA, "switchyard-shard-a", optsA)
	cacheB, _ := startWith(t, g, userB, "switchyard-shard-b", optsB)

	owner := map[types.NamespacedName]string{}
	var all []*v1alpha1.Rollout
	for _, set := range []struct {
		namespaces []string
		shard      string
	}{{shardA, "switchyard-shard-a"}, {shardB, "switchyard-shard-b"}} {
		for _, ns := range set.namespaces {
			for i := range 2 {
				ro := rollout(ns, fmt.Sprintf("app-%d", i), nil)
				g.Expect(k8sClient.Create(ctx, ro)).To(Succeed())
				owner[client.ObjectKeyFromObject(ro)] = set.shard
				all = append(all, ro)
			}
		}
	}

	// Every Rollout becomes Healthy, its ReplicaSet and status written by
	// its own shard only.
	for _, ro := range all {
		key := client.ObjectKeyFromObject(ro)
		g.Eventually(func(g Gomega) {
			progressed(g, key)
			g.Expect(writers(g, ro)).To(And(HaveLen(1), HaveEach(onlyBy(owner[key]))))
			g.Expect(statusWriters(g, key.Namespace, key.Name)).To(ConsistOf(owner[key]))
		}).Should(Succeed(), "%s", key)
	}
	// A shard's cache holds its namespaces only.
	for _, ro := range all {
		key := client.ObjectKeyFromObject(ro)
		inA := cacheA.Get(ctx, key, &v1alpha1.Rollout{}) == nil
		inB := cacheB.Get(ctx, key, &v1alpha1.Rollout{}) == nil
		g.Expect([]bool{inA, inB}).To(Equal([]bool{owner[key] == "switchyard-shard-a", owner[key] == "switchyard-shard-b"}), "%s in the caches of a, b", key)
	}
	// Each shard leads through its own Lease in the shared namespace.
	holders := map[string]string{}
	for _, name := range []string{"switchyard-shard-a", "switchyard-shard-b"} {
		l := &coordinationv1.Lease{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: leases, Name: name}, l)).To(Succeed())
		g.Expect(l.Spec.HolderIdentity).To(HaveValue(Not(BeEmpty())), name)
		holders[name] = *l.Spec.HolderIdentity
	}
	g.Expect(holders["switchyard-shard-a"]).NotTo(Equal(holders["switchyard-shard-b"]))

	// Shard a fails; every Rollout gets a new image.
	stopA()
	for _, ro := range all {
		g.Expect(k8sClient.Patch(ctx, ro, client.RawPatch(types.MergePatchType,
			[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:2"}]}}}}`)))).To(Succeed())
	}
	// Shard b's Rollouts progress to the new revision...
	for _, ro := range all {
		key := client.ObjectKeyFromObject(ro)
		if owner[key] != "switchyard-shard-b" {
			continue
		}
		g.Eventually(func(g Gomega) {
			progressed(g, key)
			g.Expect(writers(g, ro)).To(And(HaveLen(2), HaveEach(onlyBy("switchyard-shard-b"))))
		}).Should(Succeed(), "%s", key)
	}
	// ...while shard a's, by then, have not been looked at: no new
	// ReplicaSet, the status still of the old generation.
	for _, ro := range all {
		key := client.ObjectKeyFromObject(ro)
		if owner[key] != "switchyard-shard-a" {
			continue
		}
		got := &v1alpha1.Rollout{}
		g.Expect(k8sClient.Get(ctx, key, got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(strconv.FormatInt(got.Generation-1, 10)), "%s observed", key)
		g.Expect(writers(g, ro)).To(HaveLen(1), "%s ReplicaSets", key)
	}

	// Shard a back: its Rollouts resume, still written by it alone.
	startWith(t, g, userA, "switchyard-shard-a", optsA)
	for _, ro := range all {
		key := client.ObjectKeyFromObject(ro)
		if owner[key] != "switchyard-shard-a" {
			continue
		}
		g.Eventually(func(g Gomega) {
			progressed(g, key)
			g.Expect(writers(g, ro)).To(And(HaveLen(2), HaveEach(onlyBy("switchyard-shard-a"))))
			g.Expect(statusWriters(g, key.Namespace, key.Name)).To(ConsistOf("switchyard-shard-a"))
		}).Should(Succeed(), "%s", key)
	}
}

// TestParseNamespaces checks the --namespace flag's list.
func TestParseNamespaces(t *testing.T) {
	for _, tc := range []struct {
		flag    string
		want    []string
		wantErr string
	}{
		{flag: "", want: nil},
		{flag: "team-a", want: []string{"team-a"}},
		{flag: "team-a, team-b,team-c", want: []string{"team-a", "team-b", "team-c"}},
		{flag: "team-a,,team-b", wantErr: `namespace ""`},
		{flag: "Team_A", wantErr: `namespace "Team_A"`},
		{flag: "a,b,a", wantErr: `namespace "a" given twice`},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			g := NewWithT(t)
			got, err := manager.ParseNamespaces(tc.flag)
			if tc.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tc.want))
		})
	}
}
