// Package cluster starts a real Kubernetes control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler) with nodes and pod lifecycles
// simulated by kwok, all built from Go modules by hack/localcluster.
//
// Tests share one cluster per package through Main; the localcluster command
// (test/cluster/cmd/localcluster) runs the same code for the sandbox.
package cluster

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

//go:embed stages/pod.yaml.tmpl
var podStages string

// Options shape a local cluster. The zero value is a usable default.
type Options struct {
	// Dir holds the cluster's data, certificates, logs and kubeconfig.
	// Empty means a new temporary directory, removed by Stop.
	Dir string
	// ReadyDelay is how long a simulated pod stays Running before it
	// becomes Ready. Default 1s.
	ReadyDelay time.Duration
	// PrivateNodes and DefaultNodes size the two node groups: the private
	// group is labelled and tainted subnettype=private (as the seed's
	// operations worker group), the default group is untainted.
	PrivateNodes, DefaultNodes int
	// PodsPerNode is each simulated node's pod capacity. Default 500.
	PodsPerNode int
	// Detach leaves the processes running after the calling process exits
	// (the CLI's "up"); otherwise they are killed with their parent.
	Detach bool
	// AuditLog writes kube-apiserver's audit log (metadata level) to
	// Dir/audit.log, for attributing API requests to a client.
	AuditLog bool
	// Profiling serves kube-apiserver's pprof handlers (/debug/pprof) to
	// its admins, for the benchmark's profiles of it.
	Profiling bool
	// Log receives progress lines. Default io.Discard.
	Log io.Writer
}

func (o *Options) defaults() {
	if o.ReadyDelay == 0 {
		o.ReadyDelay = time.Second
	}
	if o.PrivateNodes == 0 {
		o.PrivateNodes = 4
	}
	if o.DefaultNodes == 0 {
		o.DefaultNodes = 2
	}
	if o.PodsPerNode == 0 {
		o.PodsPerNode = 500
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Cluster is a running local cluster.
type Cluster struct {
	// Dir is the data directory; Kubeconfig the admin kubeconfig inside it.
	Dir        string
	Kubeconfig string
	// RESTConfig authenticates as the cluster admin (system:masters).
	RESTConfig *rest.Config
	// Server is the API server's URL.
	Server string
	// EtcdURL is etcd's client URL: an observer that must see every
	// write, even while kube-apiserver restarts, reads it directly.
	EtcdURL string
	// StartupTime is the time from launching etcd to a ready cluster.
	StartupTime time.Duration

	ca        *authority
	ownsDir   bool
	processes []*process
	// bin, detach and apiArgs relaunch kube-apiserver (RestartAPIServer).
	bin     string
	detach  bool
	apiArgs []string
}

// state is what the CLI's "down" needs to stop a detached cluster.
type state struct {
	Dir  string         `json:"dir"`
	PIDs map[string]int `json:"pids"`
}

const stateFile = "localcluster.json"

// Start builds (once) and starts a cluster and waits until it is ready: the
// API server reports /readyz, every simulated node is Ready and the default
// ServiceAccount exists.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	opts.defaults()
	bin, err := Binaries(ctx, opts.Log)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: opts.Dir}
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "localcluster-"); err != nil {
			return nil, err
		}
		c.ownsDir = true
	}
	if err := c.start(ctx, bin, opts); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, bin string, opts Options) error {
	began := time.Now()
	for _, d := range []string{"etcd", "pki", "logs"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o755); err != nil {
			return err
		}
	}
	ports, err := freePorts(6)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort, kcmPort, schedPort, kwokPort := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	c.Server = fmt.Sprintf("https://127.0.0.1:%d", apiPort)

	pki, err := c.writePKI()
	if err != nil {
		return fmt.Errorf("write certificates: %w", err)
	}

	fmt.Fprintln(opts.Log, "starting etcd")
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	c.EtcdURL = etcdURL
	if err := c.launch(bin, "etcd", opts.Detach,
		"--data-dir="+filepath.Join(c.Dir, "etcd"),
		"--listen-client-url="+etcdURL,
		fmt.Sprintf("--listen-peer-url=http://127.0.0.1:%d", etcdPeer),
	); err != nil {
		return err
	}

	fmt.Fprintln(opts.Log, "starting kube-apiserver")
	apiArgs := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--endpoint-reconciler-type=none",
		"--tls-cert-file=" + pki["apiserver.crt"],
		"--tls-private-key-file=" + pki["apiserver.key"],
		"--client-ca-file=" + pki["ca.crt"],
		"--service-account-key-file=" + pki["sa.pub"],
		"--service-account-signing-key-file=" + pki["sa.key"],
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode=RBAC",
		"--allow-privileged=true",
		// The benchmark drives thousands of objects; the defaults would
		// measure the API server's throttling, not the controllers.
		"--max-requests-inflight=3000",
		"--max-mutating-requests-inflight=1500",
		"--enable-priority-and-fairness=false",
		fmt.Sprintf("--profiling=%t", opts.Profiling),
	}
	if opts.AuditLog {
		policy := filepath.Join(c.Dir, "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
			return err
		}
		apiArgs = append(apiArgs,
			"--audit-policy-file="+policy,
			"--audit-log-path="+filepath.Join(c.Dir, "audit.log"),
			"--audit-log-format=json",
			"--audit-log-mode=batch",
			"--audit-log-batch-max-wait=1s",
			// The batch backend drops events once its buffer (10,000 by
			// default) is full: a fleet of 1,000 Rollouts on a busy
			// machine lost most of one phase's requests.
			"--audit-log-batch-buffer-size=500000",
			// The log is rotated at 100 MB unless told otherwise
			// (lumberjack's default): a fleet of 2,000 Rollouts writes
			// more, and a reader of audit.log alone lost the first
			// phases' requests.
			"--audit-log-maxsize=1000000",
		)
	}
	c.bin, c.detach, c.apiArgs = bin, opts.Detach, apiArgs
	if err := c.launch(bin, "kube-apiserver", opts.Detach, apiArgs...); err != nil {
		return err
	}

	if err := c.writeKubeconfigs(pki); err != nil {
		return err
	}
	admin, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load admin kubeconfig: %w", err)
	}
	admin.QPS, admin.Burst = 200, 400
	c.RESTConfig = admin
	client, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return err
	}
	fmt.Fprintln(opts.Log, "waiting for kube-apiserver /readyz")
	if err := c.waitAPIServer(ctx, client); err != nil {
		return err
	}

	fmt.Fprintln(opts.Log, "starting kube-controller-manager, kube-scheduler and kwok")
	if err := c.launch(bin, "kube-controller-manager", opts.Detach,
		"--kubeconfig="+pki["kube-controller-manager.kubeconfig"],
		"--authentication-kubeconfig="+pki["kube-controller-manager.kubeconfig"],
		"--authorization-kubeconfig="+pki["kube-controller-manager.kubeconfig"],
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", kcmPort),
		"--leader-elect=false",
		"--controllers=*",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file="+pki["sa.key"],
		"--root-ca-file="+pki["ca.crt"],
		"--cluster-signing-cert-file="+pki["ca.crt"],
		"--cluster-signing-key-file="+pki["ca.key"],
		"--kube-api-qps=500",
		"--kube-api-burst=1000",
		"--concurrent-replicaset-syncs=10",
		"--concurrent-service-endpoint-syncs=10",
	); err != nil {
		return err
	}
	if err := c.launch(bin, "kube-scheduler", opts.Detach,
		"--kubeconfig="+pki["kube-scheduler.kubeconfig"],
		"--authentication-kubeconfig="+pki["kube-scheduler.kubeconfig"],
		"--authorization-kubeconfig="+pki["kube-scheduler.kubeconfig"],
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", schedPort),
		"--leader-elect=false",
		"--kube-api-qps=500",
		"--kube-api-burst=1000",
	); err != nil {
		return err
	}

	stages, err := c.writeStages(bin, opts)
	if err != nil {
		return err
	}
	if err := c.launch(bin, "kwok", opts.Detach,
		"--kubeconfig="+pki["kwok.kubeconfig"],
		"--config="+stages,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+kwokNodeAnnotation+"=fake",
		"--cidr=10.244.0.1/16",
		"--node-ip=10.0.0.1",
		"--node-lease-duration-seconds=40",
		fmt.Sprintf("--server-address=127.0.0.1:%d", kwokPort),
	); err != nil {
		return err
	}

	if err := c.saveState(); err != nil {
		return err
	}
	fmt.Fprintf(opts.Log, "registering %d private and %d default simulated nodes\n", opts.PrivateNodes, opts.DefaultNodes)
	if err := registerNodes(ctx, client, opts); err != nil {
		return err
	}
	fmt.Fprintln(opts.Log, "waiting for the nodes to be Ready and the default ServiceAccount")
	if err := c.poll(ctx, 2*time.Minute, func(ctx context.Context) (bool, error) {
		return clusterReady(ctx, client, opts.PrivateNodes+opts.DefaultNodes)
	}); err != nil {
		return fmt.Errorf("cluster not ready: %w (logs in %s)", err, filepath.Join(c.Dir, "logs"))
	}
	c.StartupTime = time.Since(began)
	fmt.Fprintf(opts.Log, "cluster ready in %s\n", c.StartupTime.Round(100*time.Millisecond))
	return nil
}

// waitAPIServer waits until kube-apiserver reports /readyz.
func (c *Cluster) waitAPIServer(ctx context.Context, client kubernetes.Interface) error {
	if err := c.poll(ctx, time.Minute, func(ctx context.Context) (bool, error) {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	}); err != nil {
		return fmt.Errorf("kube-apiserver not ready: %w (see %s)", err, filepath.Join(c.Dir, "logs", "kube-apiserver.log"))
	}
	return nil
}

// RestartAPIServer kills kube-apiserver (SIGKILL: a crash, no graceful
// drain of requests and watches), waits downtime, starts it again with the
// same flags, port and certificates on the same etcd, and returns once it
// reports /readyz. Every other component and client keeps running and
// must reconnect on its own, as after a control-plane crash.
func (c *Cluster) RestartAPIServer(ctx context.Context, downtime time.Duration) error {
	i := slices.IndexFunc(c.processes, func(p *process) bool { return p.name == "kube-apiserver" })
	if i < 0 {
		return fmt.Errorf("kube-apiserver was not started by this cluster")
	}
	c.processes[i].kill()
	c.processes = slices.Delete(c.processes, i, i+1)
	if downtime > 0 {
		t := time.NewTimer(downtime)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := c.launch(c.bin, "kube-apiserver", c.detach, c.apiArgs...); err != nil {
		return err
	}
	if err := c.saveState(); err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		return err
	}
	return c.waitAPIServer(ctx, client)
}

// poll waits for cond, failing early when a component has exited.
func (c *Cluster) poll(ctx context.Context, timeout time.Duration, cond wait.ConditionWithContextFunc) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.exited(); err != nil {
			return false, err
		}
		return cond(ctx)
	})
}

func clusterReady(ctx context.Context, client kubernetes.Interface, nodes int) (bool, error) {
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, nil
	}
	ready := 0
	for _, n := range list.Items {
		if nodeReady(&n) && !hasTaint(&n, "node.kubernetes.io/not-ready") {
			ready++
		}
	}
	if ready < nodes {
		return false, nil
	}
	_, err = client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func nodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasTaint(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

// UserConfig returns a rest.Config authenticating with a new client
// certificate for user in groups, so a controller or benchmark has an
// identity of its own in the audit log and RBAC.
func (c *Cluster) UserConfig(user string, groups ...string) (*rest.Config, error) {
	pair, err := c.ca.issue(user, groups, nil)
	if err != nil {
		return nil, err
	}
	return &rest.Config{
		Host:  c.Server,
		QPS:   200,
		Burst: 400,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   c.ca.certPEM,
			CertData: pair.CertPEM,
			KeyData:  pair.KeyPEM,
		},
	}, nil
}

// Stop kills every process the cluster started and removes a temporary
// data directory.
func (c *Cluster) Stop() error {
	var errs []error
	for i := len(c.processes) - 1; i >= 0; i-- {
		errs = append(errs, c.processes[i].stop())
	}
	if c.ownsDir {
		errs = append(errs, os.RemoveAll(c.Dir))
	}
	return errors.Join(errs...)
}

// StopDir stops a detached cluster from the state its Start left in dir,
// killing its processes by PID, and removes dir. A missing or stale state
// is not an error: a crashed "up" must never block the next one.
func StopDir(dir string) error {
	if err := KillDir(dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// KillDir stops a detached cluster's processes and keeps its data and logs.
func KillDir(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err == nil {
		var s state
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("read %s: %w", stateFile, err)
		}
		for _, name := range []string{"kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"} {
			if pid, ok := s.PIDs[name]; ok {
				StopProcess(pid, name)
			}
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	return nil
}

// PIDs maps each process of the cluster (etcd, kube-apiserver, ...) to
// its PID, for measuring what the cluster itself costs.
func (c *Cluster) PIDs() map[string]int {
	pids := map[string]int{}
	for _, p := range c.processes {
		pids[p.name] = p.cmd.Process.Pid
	}
	return pids
}

func (c *Cluster) saveState() error {
	s := state{Dir: c.Dir, PIDs: c.PIDs()}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, stateFile), data, 0o644)
}

// writePKI writes the CA, the API server's serving certificate, the
// service-account keys and one client certificate per component, and
// returns their paths by name.
func (c *Cluster) writePKI() (map[string]string, error) {
	ca, err := newAuthority()
	if err != nil {
		return nil, err
	}
	c.ca = ca
	dir := filepath.Join(c.Dir, "pki")
	paths := map[string]string{}
	write := func(name string, data []byte) error {
		p := filepath.Join(dir, name)
		paths[name] = p
		return os.WriteFile(p, data, 0o600)
	}
	caKey, err := marshalKey(ca.key)
	if err != nil {
		return nil, err
	}
	if err := write("ca.crt", ca.certPEM); err != nil {
		return nil, err
	}
	if err := write("ca.key", caKey); err != nil {
		return nil, err
	}
	serving, err := ca.issue("kube-apiserver", nil, []string{"127.0.0.1", "localhost", "10.96.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"})
	if err != nil {
		return nil, err
	}
	if err := write("apiserver.crt", serving.CertPEM); err != nil {
		return nil, err
	}
	if err := write("apiserver.key", serving.KeyPEM); err != nil {
		return nil, err
	}
	priv, pub, err := writeServiceAccountKeys(dir)
	if err != nil {
		return nil, err
	}
	paths["sa.key"], paths["sa.pub"] = priv, pub
	return paths, nil
}

// clientIdentities are the users each component authenticates as. The
// controller-manager and kwok need every permission (the manager runs all
// controllers with its own credentials), so they are in system:masters.
var clientIdentities = map[string][]string{
	"admin":                   {"kubernetes-admin", "system:masters"},
	"kube-controller-manager": {"system:kube-controller-manager", "system:masters"},
	"kube-scheduler":          {"system:kube-scheduler"},
	"kwok":                    {"kwok", "system:masters"},
}

func (c *Cluster) writeKubeconfigs(pki map[string]string) error {
	for name, id := range clientIdentities {
		pair, err := c.ca.issue(id[0], id[1:], nil)
		if err != nil {
			return err
		}
		cfg := clientcmdapi.NewConfig()
		cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: c.Server, CertificateAuthorityData: c.ca.certPEM}
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: pair.CertPEM, ClientKeyData: pair.KeyPEM}
		cfg.Contexts["localcluster"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: name, Namespace: "default"}
		cfg.CurrentContext = "localcluster"
		path := filepath.Join(c.Dir, "pki", name+".kubeconfig")
		if name == "admin" {
			path = filepath.Join(c.Dir, "kubeconfig")
			c.Kubeconfig = path
		}
		if err := clientcmd.WriteToFile(*cfg, path); err != nil {
			return fmt.Errorf("write kubeconfig for %s: %w", name, err)
		}
		pki[name+".kubeconfig"] = path
	}
	return nil
}

// writeStages writes kwok's configuration: kwok's own node stages (shipped
// in its module, copied next to the binaries) and our pod stages.
func (c *Cluster) writeStages(bin string, opts Options) (string, error) {
	var buf bytes.Buffer
	for _, f := range []string{"node-initialize.yaml", "node-heartbeat-with-lease.yaml"} {
		data, err := os.ReadFile(filepath.Join(bin, f))
		if err != nil {
			return "", err
		}
		buf.Write(data)
		buf.WriteString("\n---\n")
	}
	tmpl, err := template.New("pod").Parse(podStages)
	if err != nil {
		return "", fmt.Errorf("parse pod stages: %w", err)
	}
	if err := tmpl.Execute(&buf, map[string]any{"ReadyDelayMS": opts.ReadyDelay.Milliseconds()}); err != nil {
		return "", fmt.Errorf("render pod stages: %w", err)
	}
	path := filepath.Join(c.Dir, "kwok-stages.yaml")
	return path, os.WriteFile(path, buf.Bytes(), 0o644)
}

// process is one component the cluster started.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (c *Cluster) launch(bin, name string, detach bool, args ...string) error {
	// Appended to: a restarted component keeps one log.
	logFile, err := os.OpenFile(filepath.Join(c.Dir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(bin, name), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = c.Dir
	if detach {
		// Its own session: the component outlives the CLI and ignores the
		// terminal's signals; "down" stops it by PID.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		// Dies with the test binary even if the test is killed.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	c.processes = append(c.processes, p)
	return nil
}

// exited reports the first component that has stopped.
func (c *Cluster) exited() error {
	for _, p := range c.processes {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %v (see %s)", p.name, p.err, filepath.Join(c.Dir, "logs", p.name+".log"))
		default:
		}
	}
	return nil
}

func (p *process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *process) stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return nil
}

// StopProcess stops a process this package or the sandbox detached, by PID:
// SIGTERM, then SIGKILL if it lingers. It checks the process's command line
// for name first, so a recycled PID is spared.
func StopProcess(pid int, name string) {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), name) {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	// Not our child: there is no Wait, only polling whether it is gone.
	gone := func(context.Context) (bool, error) { return syscall.Kill(pid, 0) != nil, nil }
	if wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 10*time.Second, true, gone) != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

func freePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		_, port, _ := net.SplitHostPort(l.Addr().String())
		p, _ := strconv.Atoi(port)
		ports = append(ports, p)
	}
	return ports, nil
}

const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
`
