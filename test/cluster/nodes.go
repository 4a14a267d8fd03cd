package cluster

import (
	"context"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	// kwokNodeAnnotation marks the nodes kwok simulates.
	kwokNodeAnnotation = "kwok.x-k8s.io/node"
	// SubnetTypeLabel is the seed cluster's node-group label; the private
	// group carries it as a label and as a NoSchedule taint.
	SubnetTypeLabel = "subnettype"
	// PrivateSubnet is the value of the private group's label and taint.
	PrivateSubnet = "private"
)

// registerNodes creates the simulated nodes: the private worker group the
// seed's tolerations and node affinity target, and an untainted default group.
func registerNodes(ctx context.Context, client kubernetes.Interface, opts Options) error {
	for i := range opts.PrivateNodes {
		n := simulatedNode(fmt.Sprintf("private-%d", i), opts.PodsPerNode)
		n.Labels[SubnetTypeLabel] = PrivateSubnet
		n.Spec.Taints = []corev1.Taint{{Key: SubnetTypeLabel, Value: PrivateSubnet, Effect: corev1.TaintEffectNoSchedule}}
		if err := createNode(ctx, client, n); err != nil {
			return err
		}
	}
	for i := range opts.DefaultNodes {
		if err := createNode(ctx, client, simulatedNode(fmt.Sprintf("default-%d", i), opts.PodsPerNode)); err != nil {
			return err
		}
	}
	return nil
}

func simulatedNode(name string, pods int) *corev1.Node {
	// CPU and memory are generous: the seed's pods request a whole CPU each,
	// and the benchmark runs thousands of them.
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("4000"),
		corev1.ResourceMemory: resource.MustParse("4Ti"),
		corev1.ResourcePods:   resource.MustParse(strconv.Itoa(pods)),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{kwokNodeAnnotation: "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}

func createNode(ctx context.Context, client kubernetes.Interface, n *corev1.Node) error {
	_, err := client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create node %s: %w", n.Name, err)
	}
	return nil
}
