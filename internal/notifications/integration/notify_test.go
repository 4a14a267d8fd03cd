package integration

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchyard-dev/switchyard/internal/notifications"
)

// The triggers the tests subscribe to, each with a template of its name.
var triggers = []string{"rollout-updated", "rollout-step-completed", "rollout-paused", "rollout-completed", "rollout-aborted"}

// body renders what each template sends: the Rollout's name, revision and
// step as the template saw them.
const body = `{{.rollout.metadata.name}} revision {{index .rollout.metadata.annotations "rollout.argoproj.io/revision"}} step {{.rollout.status.currentStepIndex}}`

// notificationConfig is the controller's ConfigMap and Secret: one webhook
// service per receiver (its token from the Secret), a template and a
// trigger per entry of triggers; extra entries replace or add keys.
func notificationConfig(ns string, receivers map[string]string, extra map[string]string) (*corev1.ConfigMap, *corev1.Secret) {
	data := map[string]string{}
	for name, url := range receivers {
		data["service.webhook."+name] = fmt.Sprintf("url: %s\nretryMax: 1\nretryWaitMin: 10000000\nretryWaitMax: 20000000\nheaders:\n- name: Authorization\n  value: Bearer $token\n", url)
	}
	for _, t := range triggers {
		var hooks strings.Builder
		for name := range receivers {
			fmt.Fprintf(&hooks, "  %s:\n    method: POST\n    path: /%s\n    body: '%s'\n", name, t, body)
		}
		data["template."+t] = "webhook:\n" + hooks.String()
		data["trigger.on-"+t] = "- send: [" + t + "]"
	}
	for k, v := range extra {
		data[k] = v
	}
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: notifications.ConfigMapName}, Data: data},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: notifications.SecretName}, StringData: map[string]string{"token": "s3cret"}}
}

// subscribe returns the annotations subscribing each receiver to each
// trigger.
func subscribe(receivers ...string) map[string]string {
	out := map[string]string{}
	for _, t := range triggers {
		for _, r := range receivers {
			out["notifications.argoproj.io/subscribe.on-"+t+"."+r] = ""
		}
	}
	return out
}

func create(g *WithT, objs ...client.Object) {
	for _, o := range objs {
		g.Expect(k8sClient.Create(context.Background(), o)).To(Succeed())
	}
}

// TestOneMessagePerTransition: the seed canary created, updated, paused at
// its pause step and promoted to completion sends one message per
// transition to the subscribed webhook, with the template rendered, exactly
// once, across a controller restart in the middle of the update.
func TestOneMessagePerTransition(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	rcv := newReceiver(t, http.StatusOK)
	create(g, toObjects(notificationConfig(ns, map[string]string{"receiver": rcv.URL}, nil))...)
	stop := startController(t, g, ns, notifications.Options{})
	ro := seedCanary(g, ns, subscribe("receiver"))
	create(g, ro)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	created := []string{
		"/rollout-updated backend-canary revision 1 step <no value>",
		"/rollout-completed backend-canary revision 1 step 2",
	}
	g.Eventually(rcv.received).Should(Equal(created))

	// The update pauses at step 1 (setWeight 30, then pause); the first
	// controller stops right after the new template is written, the second
	// takes over.
	setImage(g, ns, ro.Name, "backend:v2")
	stop()
	stop = startController(t, g, ns, notifications.Options{})
	paused := append(slices.Clone(created),
		"/rollout-updated backend-canary revision 2 step 2",
		"/rollout-step-completed backend-canary revision 2 step 0",
		"/rollout-paused backend-canary revision 2 step 1",
	)
	g.Eventually(rcv.received).Should(Equal(paused))
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))

	// A restart while paused sends nothing again.
	stop()
	startController(t, g, ns, notifications.Options{})
	g.Consistently(rcv.received, 3*time.Second, 100*time.Millisecond).Should(Equal(paused))

	promote(g, ns, ro.Name)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Eventually(rcv.received).Should(Equal(append(slices.Clone(paused),
		"/rollout-step-completed backend-canary revision 2 step 1",
		"/rollout-completed backend-canary revision 2 step 2",
	)))
	g.Consistently(rcv.received, 2*time.Second, 100*time.Millisecond).Should(HaveLen(len(paused) + 2))
	for _, h := range rcv.headers {
		g.Expect(h.Get("Authorization")).To(Equal("Bearer s3cret"), "the service's header takes the Secret's value")
	}
	g.Expect(counter(g, "notification_send_success", ns)).To(BeEquivalentTo(len(paused) + 2))
	g.Expect(counter(g, "notification_send_error", ns)).To(BeZero())
}

func toObjects(cm *corev1.ConfigMap, s *corev1.Secret) []client.Object { return []client.Object{cm, s} }

// TestFailingReceiverDoesNotHoldTheRollout: a receiver answering 500 and
// one that never answers get their notifications retried and given up on,
// counted in notification_send_error, while the Rollout updates and
// completes with the hanging request still open.
func TestFailingReceiverDoesNotHoldTheRollout(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	failing := newReceiver(t, http.StatusInternalServerError)
	release := make(chan struct{})
	hanging := newHangingReceiver(t, release)
	create(g, toObjects(notificationConfig(ns, map[string]string{"failing": failing.URL, "hanging": hanging.URL}, nil))...)
	startController(t, g, ns, notifications.Options{MaxAttempts: 2, RetryBase: 50 * time.Millisecond, SendTimeout: 2 * time.Second})
	ro := seedCanary(g, ns, subscribe("failing", "hanging"))
	create(g, ro)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))
	promote(g, ns, ro.Name)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Expect(hanging.open()).To(BeNumerically(">", 0), "the Rollout completed while a send still waits on the hanging receiver")
	g.Eventually(func() float64 { return counter(g, "notification_send_error", ns) }).Should(BeNumerically(">=", 2))
	g.Expect(counter(g, "notification_send_success", ns)).To(BeZero())
	g.Expect(failing.received()).NotTo(BeEmpty())
	close(release)
}

// TestMalformedTemplateAndTrigger: a template that does not parse and a
// trigger whose condition does not compile are named in a Warning event on
// the Rollout; the other triggers keep sending and the Rollout completes.
func TestMalformedTemplateAndTrigger(t *testing.T) {
	t.Parallel()
	ns, g := newNamespace(t)
	rcv := newReceiver(t, http.StatusOK)
	create(g, toObjects(notificationConfig(ns, map[string]string{"receiver": rcv.URL}, map[string]string{
		"template.rollout-step-completed": "webhook:\n  receiver:\n    body: '{{.rollout.metadata.name'\n",
		"trigger.on-rollout-paused":       "- when: rollout.status.phase ==\n  send: [rollout-paused]",
	}))...)
	startController(t, g, ns, notifications.Options{})
	ro := seedCanary(g, ns, subscribe("receiver"))
	create(g, ro)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	setImage(g, ns, ro.Name, "backend:v2")
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Paused"))
	promote(g, ns, ro.Name)
	g.Eventually(phase(ns, ro.Name)).Should(Equal("Healthy"))
	g.Eventually(rcv.received).Should(Equal([]string{
		"/rollout-updated backend-canary revision 1 step <no value>",
		"/rollout-completed backend-canary revision 1 step 2",
		"/rollout-updated backend-canary revision 2 step 2",
		"/rollout-completed backend-canary revision 2 step 2",
	}))
	g.Eventually(func() []string { return warnings(g, ns, ro.Name) }).Should(ContainElements(
		ContainSubstring(`Notification for trigger on-rollout-step-completed not sent: trigger "on-rollout-step-completed" in %s/%s: template "rollout-step-completed" is malformed`, ns, notifications.ConfigMapName),
		ContainSubstring(`Notification for trigger on-rollout-paused not sent: trigger "on-rollout-paused" in %s/%s`, ns, notifications.ConfigMapName),
	))
}

// warnings lists the notes of the Rollout's NotificationConfigInvalid events.
func warnings(g *WithT, ns, name string) []string {
	var list eventsv1.EventList
	g.Expect(k8sClient.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == notifications.EventConfigInvalid && e.Type == corev1.EventTypeWarning {
			out = append(out, e.Note)
		}
	}
	return out
}
