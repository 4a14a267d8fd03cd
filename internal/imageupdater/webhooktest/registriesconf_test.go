package webhooktest

import (
	"os"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	imagesv1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	testregistry "github.com/switchyard-dev/switchyard/test/registry"
)

// TestRegistriesConfExt: an ImageUpdater without a pull secret reads a
// private registry with the credentials registries.conf's ext: script
// prints, in a namespace the ambient policy allows; in another namespace
// the same registry is refused with AmbientCredentialsNotAllowed.
func TestRegistriesConfExt(t *testing.T) {
	g := NewWithT(t)
	reg := testregistry.Start(t)
	g.Expect(os.WriteFile(credsFile, []byte(reg.Username+":"+reg.Password+"\n"), 0o600)).To(Succeed())
	digest := reg.PushRandom(t, "backend:latest").String()

	for _, ns := range []string{allowedNamespace, "conf-denied"} {
		g.Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		g.Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "registry-ca"}, Data: map[string][]byte{"ca.crt": reg.CAPEM}})).To(Succeed())
		labels := map[string]string{"app": "backend"}
		g.Expect(k8sClient.Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backend"},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "backend", Image: reg.Repo("backend") + ":latest"}}},
				},
			},
		})).To(Succeed())
		g.Expect(k8sClient.Create(ctx, &imagesv1.ImageUpdater{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "backend"},
			Spec: imagesv1.ImageUpdaterSpec{
				Images: []imagesv1.ImageSpec{{
					Name: "backend", Image: reg.Repo("backend"), Strategy: imagesv1.StrategyDigest,
					CASecret: &imagesv1.KeyRef{Name: "registry-ca"},
				}},
				Interval:  &metav1.Duration{Duration: time.Hour},
				WriteBack: imagesv1.WriteBackSpec{Method: imagesv1.WriteBackWorkload, Workload: &imagesv1.WorkloadWriteBack{Kind: "Deployment", Name: "backend"}},
			},
		})).To(Succeed())
	}

	g.Eventually(func(g Gomega) {
		d := &appsv1.Deployment{}
		g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: allowedNamespace, Name: "backend"}, d)).To(Succeed())
		g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(reg.Repo("backend") + ":latest@" + digest))
	}, time.Minute, 100*time.Millisecond).Should(Succeed())

	g.Eventually(func(g Gomega) {
		iu := &imagesv1.ImageUpdater{}
		g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: "conf-denied", Name: "backend"}, iu)).To(Succeed())
		g.Expect(iu.Status.Images).To(HaveLen(1))
		g.Expect(iu.Status.Images[0].Reason).To(Equal(imagesv1.ReasonAmbientCredentialsNotAllowed))
	}, time.Minute, 100*time.Millisecond).Should(Succeed())
	d := &appsv1.Deployment{}
	g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: "conf-denied", Name: "backend"}, d)).To(Succeed())
	g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(reg.Repo("backend") + ":latest"))
	g.Expect(logs.String()).NotTo(ContainSubstring(reg.Password))
}
