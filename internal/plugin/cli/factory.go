// Package cli holds what every verb of the kubectl plugin shares: the
// kubeconfig flags, the output streams, the clock, the API clients and the
// handful of conventions (errors, exit codes) that make the verbs behave like
// Argo Rollouts' plugin.
package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
)

// Factory is shared by every verb: the kubectl flags (--kubeconfig,
// --context, -n, ...) bound once on the root command, the streams, and the
// clock. Each verb's Options embeds it, following the sample-cli-plugin
// pattern of an Options struct holding ConfigFlags and IOStreams.
type Factory struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	// Clock is read for ages, restart times and timeouts; tests fix it.
	Clock clock.WithTicker

	// DynamicClient and KubeClient, when set, are used instead of clients
	// built from ConfigFlags. Only the golden-file tests of `get rollout`
	// set them (to in-memory fakes); everything else talks to a server.
	DynamicClient dynamic.Interface
	KubeClient    kubernetes.Interface

	// namespace, when set, replaces the namespace of -n and the
	// kubeconfig (see ForNamespace).
	namespace string

	once    sync.Once
	config  *rest.Config
	confErr error
}

// NewFactory returns a Factory reading the standard kubectl flags.
func NewFactory(streams genericiooptions.IOStreams) *Factory {
	return &Factory{
		ConfigFlags: genericclioptions.NewConfigFlags(true),
		IOStreams:   streams,
		Clock:       clock.RealClock{},
	}
}

// Namespace is the namespace from -n, else the kubeconfig context's, else "default".
func (f *Factory) Namespace() (string, error) {
	if f.namespace != "" {
		return f.namespace, nil
	}
	ns, _, err := f.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("read namespace from kubeconfig: %w", err)
	}
	return ns, nil
}

func (f *Factory) restConfig() (*rest.Config, error) {
	f.once.Do(func() {
		f.config, f.confErr = f.ConfigFlags.ToRESTConfig()
		if f.confErr != nil {
			f.confErr = fmt.Errorf("load kubeconfig: %w", f.confErr)
			return
		}
		// Watches and the status patch follow each other quickly; the
		// client-go default of 5 QPS would throttle `get --watch` start-up.
		f.config.QPS, f.config.Burst = 50, 100
	})
	return f.config, f.confErr
}

// Dynamic returns the dynamic client used for Rollouts. Rollouts go through
// the dynamic client rather than a typed one so that an update sends back
// every field the server returned, including fields of a newer Argo
// Rollouts API that Switchyard's types do not know.
func (f *Factory) Dynamic() (dynamic.Interface, error) {
	if f.DynamicClient != nil {
		return f.DynamicClient, nil
	}
	cfg, err := f.restConfig()
	if err != nil {
		return nil, err
	}
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create dynamic client: %w", err)
	}
	f.DynamicClient = c
	return c, nil
}

// Kube returns the client for core and apps objects (ReplicaSets, pods).
func (f *Factory) Kube() (kubernetes.Interface, error) {
	if f.KubeClient != nil {
		return f.KubeClient, nil
	}
	cfg, err := f.restConfig()
	if err != nil {
		return nil, err
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("create kubernetes client: %w", err)
	}
	f.KubeClient = c
	return c, nil
}

// Rollouts returns the Rollout client for namespace ns ("" for all namespaces).
func (f *Factory) Rollouts(ns string) (*Rollouts, error) {
	d, err := f.Dynamic()
	if err != nil {
		return nil, err
	}
	return NewRollouts(d, ns), nil
}

// RolloutsInNamespace returns the Rollout client for the namespace of the
// kubeconfig / -n flag, and that namespace.
func (f *Factory) RolloutsInNamespace() (*Rollouts, string, error) {
	ns, err := f.Namespace()
	if err != nil {
		return nil, "", err
	}
	r, err := f.Rollouts(ns)
	return r, ns, err
}

// ForNamespace returns a Factory for running a verb in namespace ns from
// inside another command (the dashboard runs the verbs its buttons name
// this way): it shares f's clients and clock, reads nothing, and writes
// what the verb prints to out.
func (f *Factory) ForNamespace(ns string, out io.Writer) (*Factory, error) {
	if ns == "" {
		return nil, fmt.Errorf("run a command for a namespace: no namespace given")
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return nil, err
	}
	kube, err := f.Kube()
	if err != nil {
		return nil, err
	}
	return &Factory{
		ConfigFlags:   f.ConfigFlags,
		IOStreams:     genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: out},
		Clock:         f.Clock,
		DynamicClient: dyn,
		KubeClient:    kube,
		namespace:     ns,
	}, nil
}
