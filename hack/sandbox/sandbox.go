package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	imagesv1alpha1 "github.com/switchyard-dev/switchyard/api/imageupdater/v1alpha1"
	"github.com/switchyard-dev/switchyard/test/cluster"
	"github.com/switchyard-dev/switchyard/test/promserver"
	"github.com/switchyard-dev/switchyard/test/registry"
	"github.com/switchyard-dev/switchyard/test/routercrds"
)

const (
	seedImage = "XXXXXXXXXXXX.dkr.ecr.{AWS-REGION}.amazonaws.com/backend"
	namespace = "default"
)

// rollouts are the sandbox's Rollouts: the two seeds, and the canary seed
// behind a Gateway API HTTPRoute.
var rollouts = []string{"backend-bluegreen", "backend-canary", "backend-canary-gatewayapi"}

// manifests are their files in examples/.
var manifests = []string{"bluegreen-rollout.yaml", "canary-rollout.yaml", "canary-gatewayapi-rollout.yaml"}

// registryAddr is the sandbox registry: the overlay and the ImageUpdaters
// name it, so it is fixed (SANDBOX_REGISTRY overrides it).
var registryAddr = func() string {
	if a := os.Getenv("SANDBOX_REGISTRY"); a != "" {
		return a
	}
	return "127.0.0.1:5001"
}()

var sandboxImage = registryAddr + "/backend"

type sandbox struct {
	// root is the checkout, dir the sandbox's state, bin where it builds
	// the binaries (root/bin; SANDBOX_BIN overrides it).
	root, dir, bin string
}

// state records the processes the sandbox started outside the cluster.
type state struct {
	PIDs map[string]int `json:"pids"`
}

func (s *sandbox) path(parts ...string) string {
	return filepath.Join(append([]string{s.dir}, parts...)...)
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "==> "+format+"\n", args...)
}

func (s *sandbox) up(ctx context.Context) (err error) {
	began := time.Now()
	if err := preflight(); err != nil {
		return err
	}
	if err := s.down(); err != nil {
		return err
	}
	defer func() {
		// A sandbox that did not come up leaves nothing running behind
		// it; its own logs stay in its directory (SANDBOX_KEEP=1 keeps
		// everything running, to look at it).
		if err == nil || os.Getenv("SANDBOX_KEEP") != "" {
			return
		}
		step("stopping what was started (logs stay in %s; SANDBOX_KEEP=1 keeps it running)", s.dir)
		if downErr := s.stop(); downErr != nil {
			err = errors.Join(err, fmt.Errorf("stop the sandbox: %w", downErr))
		}
	}()
	for _, addr := range []string{registryAddr, prometheusAddr, exporterAddr} {
		if !portFree(addr) {
			return fmt.Errorf("%s is taken by another process (SANDBOX_REGISTRY, SANDBOX_PROMETHEUS and SANDBOX_EXPORTER choose other addresses)", addr)
		}
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}

	step("building switchyard, image-updater and kubectl-argo-rollouts into %s", s.bin)
	if err := s.command(ctx, "go", "build", "-o", s.bin+string(filepath.Separator), "./cmd/switchyard", "./cmd/image-updater", "./cmd/kubectl-argo-rollouts"); err != nil {
		return fmt.Errorf("build: %w", err)
	}

	step("building the local cluster's Kubernetes, the registry and Prometheus from their Go modules (the first time only: about 20 minutes; then cached)")
	if _, err := cluster.Binaries(ctx, os.Stderr); err != nil {
		return err
	}
	registryBin, err := registry.Binary(ctx, os.Stderr)
	if err != nil {
		return err
	}
	prometheusBin, err := promserver.Binary(ctx, os.Stderr)
	if err != nil {
		return err
	}

	step("starting the local cluster")
	c, err := cluster.Up(ctx, s.path("cluster"), cluster.Options{Log: os.Stderr})
	if err != nil {
		return err
	}
	kubeconfig := cluster.KubeconfigPath(s.path("cluster"))

	step("starting the OCI registry on %s", registryAddr)
	st := &state{PIDs: map[string]int{}}
	pid, err := s.startRegistry(registryBin)
	if err != nil {
		return err
	}
	st.PIDs["registry"] = pid
	if err := s.save(st); err != nil {
		return err
	}
	digest, err := pushRandom(ctx)
	if err != nil {
		return err
	}
	step("pushed %s:latest (%s)", sandboxImage, digest)

	step("starting Prometheus on %s, scraping the sandbox's error-ratio exporter on %s", prometheusAddr, exporterAddr)
	if err := s.startAnalysis(ctx, st, prometheusBin); err != nil {
		return err
	}

	step("installing Switchyard into %q with kubectl apply -k config/overlays/default-namespace", namespace)
	if err := s.kubectl(ctx, kubeconfig, "apply", "-k", filepath.Join(s.root, "config", "overlays", "default-namespace")); err != nil {
		return err
	}
	if err := s.waitFor(ctx, kubeconfig, time.Minute, "--for=condition=Established", "crd/rollouts.argoproj.io", "crd/imageupdaters.images.switchyard.dev", "crd/imageupdaters.argocd-image-updater.argoproj.io",
		"crd/analysistemplates.argoproj.io", "crd/analysisruns.argoproj.io"); err != nil {
		return err
	}
	gateway, err := routercrds.GatewayAPI(s.root)
	if err != nil {
		return err
	}
	step("installing the Gateway API route CRDs from the sigs.k8s.io/gateway-api module (no gateway runs: the routes are only written)")
	if err := routercrds.Install(c.RESTConfig, gateway); err != nil {
		return err
	}

	// Simulated nodes run no containers, so the installed Deployment's pod
	// is a stand-in: the controller runs here, with that Deployment's
	// ServiceAccount identity and RBAC.
	step("starting the controller and the image updater (each with its installed ServiceAccount's token; logs in %s)", s.dir)
	for _, bin := range []struct{ name, serviceAccount string }{
		{"switchyard", "switchyard"},
		{"image-updater", "switchyard-image-updater"},
	} {
		saConfig, err := s.serviceAccountKubeconfig(ctx, c, bin.serviceAccount)
		if err != nil {
			return err
		}
		pid, err := s.detach(bin.name, filepath.Join(s.bin, bin.name),
			"--kubeconfig="+saConfig, "--leader-elect=false",
			"--metrics-bind-address=0", "--health-probe-bind-address=0")
		if err != nil {
			return err
		}
		st.PIDs[bin.name] = pid
		if err := s.save(st); err != nil {
			return err
		}
	}

	step("applying the seed's Rollouts verbatim, and backend-analysis with its AnalysisTemplate, through a kustomize overlay (%s)", s.path("seed"))
	if err := s.writeOverlay(digest); err != nil {
		return err
	}
	if err := s.kubectl(ctx, kubeconfig, "apply", "-k", s.path("seed")); err != nil {
		return err
	}
	step("waiting for the Rollouts to be Healthy")
	for _, ro := range append(slices.Clone(rollouts), analysisRollout) {
		if err := s.waitFor(ctx, kubeconfig, 3*time.Minute, "--for=jsonpath={.status.phase}=Healthy", "rollout/"+ro); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, `
Sandbox ready in %s. Next:

  export KUBECONFIG=%s PATH=%s:$PATH
  kubectl argo rollouts list rollouts
  make sandbox-push                                  # a new build under backend:latest
  kubectl argo rollouts get rollout backend-canary --watch
  kubectl argo rollouts promote backend-canary
  make sandbox-bad-metric                            # backend-analysis's next update fails its analysis
  make sandbox-good-metric

make sandbox-down stops everything.
`, time.Since(began).Round(time.Second), kubeconfig, s.bin)
	return nil
}

// push pushes a new build under backend:latest and waits until the image
// updater has written its digest to both Rollouts, so what follows in the
// walkthrough sees the new revision.
func (s *sandbox) push(ctx context.Context) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", cluster.KubeconfigPath(s.path("cluster")))
	if err != nil {
		return fmt.Errorf("no sandbox running (make sandbox): %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: updaterScheme()})
	if err != nil {
		return err
	}
	began := time.Now()
	digest, err := pushRandom(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("pushed %s:latest %s\n", sandboxImage, digest)
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, ro := range rollouts {
			iu := &imagesv1alpha1.ImageUpdater{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ro}, iu); err != nil {
				return false, nil
			}
			if len(iu.Status.Images) == 0 || iu.Status.Images[0].LastWriteBack == nil ||
				!strings.HasSuffix(iu.Status.Images[0].LastWriteBack.Image, "@"+digest) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("the image updater did not write %s back: %w", digest, err)
	}
	fmt.Printf("the image updater set it on %s after %s\n", strings.Join(rollouts, ", "), time.Since(began).Round(time.Second))
	return nil
}

func updaterScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(imagesv1alpha1.AddToScheme(s))
	return s
}

// down stops the controller and the registry by PID, then the cluster, and
// removes the state. It is safe to run when nothing is running.
func (s *sandbox) down() error {
	if err := s.stop(); err != nil {
		return err
	}
	return os.RemoveAll(s.dir)
}

// stop stops every process the sandbox started and the local cluster, and
// leaves the sandbox's directory (its logs) in place.
func (s *sandbox) stop() error {
	if data, err := os.ReadFile(s.path("state.json")); err == nil {
		var st state
		if err := json.Unmarshal(data, &st); err == nil {
			for name, pid := range st.PIDs {
				cluster.StopProcess(pid, name)
			}
		}
	}
	return cluster.Down(s.path("cluster"))
}

func (s *sandbox) save(st *state) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return os.WriteFile(s.path("state.json"), data, 0o644)
}

func (s *sandbox) startRegistry(bin string) (int, error) {
	config := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, s.path("registry", "data"), registryAddr)
	if err := os.MkdirAll(s.path("registry", "data"), 0o755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(s.path("registry", "config.yml"), []byte(config), 0o644); err != nil {
		return 0, err
	}
	pid, err := s.detachEnv("registry", bin, []string{"OTEL_TRACES_EXPORTER=none"}, "serve", s.path("registry", "config.yml"))
	if err != nil {
		return 0, err
	}
	answering := func(ctx context.Context) (bool, error) {
		_, err := remote.Catalog(ctx, mustRegistry())
		return err == nil, nil
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 20*time.Second, true, answering); err != nil {
		cluster.StopProcess(pid, "registry")
		return 0, fmt.Errorf("registry not answering on %s: %w (log in %s)", registryAddr, err, s.path("registry.log"))
	}
	return pid, nil
}

// detach starts a process that outlives the sandbox command.
func (s *sandbox) detach(name, bin string, args ...string) (int, error) {
	return s.detachEnv(name, bin, nil, args...)
}

// detachEnv is detach with extra environment variables.
func (s *sandbox) detachEnv(name, bin string, env []string, args ...string) (int, error) {
	log, err := os.Create(s.path(name + ".log"))
	if err != nil {
		return 0, err
	}
	defer log.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", name, err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	return pid, nil
}

// serviceAccountKubeconfig writes a kubeconfig with a token of a
// ServiceAccount the install created.
func (s *sandbox) serviceAccountKubeconfig(ctx context.Context, c *cluster.Cluster, serviceAccount string) (string, error) {
	kube, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		return "", err
	}
	tok, err := kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, serviceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](7 * 24 * 3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for serviceaccount %s: %w", serviceAccount, err)
	}
	admin, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		return "", err
	}
	cfg := clientcmdapi.NewConfig()
	for name, cl := range admin.Clusters {
		cfg.Clusters[name] = cl
		cfg.Contexts[serviceAccount] = &clientcmdapi.Context{Cluster: name, AuthInfo: serviceAccount, Namespace: namespace}
	}
	cfg.AuthInfos[serviceAccount] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.CurrentContext = serviceAccount
	path := s.path(serviceAccount + ".kubeconfig")
	return path, clientcmd.WriteToFile(*cfg, path)
}

// writeOverlay writes the kustomize overlay a user would keep next to the
// seed: the manifests (the two seeds and the Gateway API variant), unchanged, and an images entry pointing them at
// the sandbox registry, pinned to the digest just pushed (as the image
// updater's git write-back leaves it), plus the ImageUpdaters.
func (s *sandbox) writeOverlay(digest string) error {
	dir := s.path("seed")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range manifests {
		data, err := os.ReadFile(filepath.Join(s.root, "examples", f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			return err
		}
	}
	analysis := strings.ReplaceAll(analysisManifests, "PROMETHEUS_ADDR", prometheusAddr)
	if err := os.WriteFile(filepath.Join(dir, "analysis-rollout.yaml"), []byte(analysis), 0o644); err != nil {
		return err
	}
	updaters := ""
	for _, ro := range rollouts {
		updaters += fmt.Sprintf(`---
apiVersion: images.switchyard.dev/v1alpha1
kind: ImageUpdater
metadata:
  name: %[1]s
spec:
  interval: 10s
  images:
  - name: backend
    image: %[2]s
    strategy: digest
    tag: latest
    insecure: true
  writeBack:
    method: workload
    workload:
      kind: Rollout
      name: %[1]s
      container: %[3]s
`, ro, sandboxImage, strings.TrimSuffix(ro, "-gatewayapi"))
	}
	if err := os.WriteFile(filepath.Join(dir, "imageupdaters.yaml"), []byte(updaters), 0o644); err != nil {
		return err
	}
	kustomization := fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %s
resources:
- %s
- analysis-rollout.yaml
- imageupdaters.yaml
images:
- name: %s
  newName: %s
  newTag: latest
  digest: %s
`, namespace, strings.Join(manifests, "\n- "), seedImage, sandboxImage, digest)
	return os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kustomization), 0o644)
}

func pushRandom(ctx context.Context) (string, error) {
	img, err := random.Image(1024, 1)
	if err != nil {
		return "", err
	}
	ref, err := name.ParseReference(sandboxImage+":latest", name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

func mustRegistry() name.Registry {
	r, err := name.NewRegistry(registryAddr, name.Insecure)
	if err != nil {
		panic(err)
	}
	return r
}

// waitFor runs kubectl wait until it succeeds: kubectl fails, rather than
// waits, while the field it waits on does not exist yet.
func (s *sandbox) waitFor(ctx context.Context, kubeconfig string, timeout time.Duration, args ...string) error {
	var out []byte
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig=" + kubeconfig, "-n", namespace, "wait", "--timeout=10s"}, args...)...)
		var err error
		out, err = cmd.CombinedOutput()
		return err == nil, nil
	})
	os.Stderr.Write(out)
	if err != nil {
		return fmt.Errorf("kubectl wait %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

func (s *sandbox) kubectl(ctx context.Context, kubeconfig string, args ...string) error {
	return s.command(ctx, "kubectl", append([]string{"--kubeconfig=" + kubeconfig, "-n", namespace}, args...)...)
}

func (s *sandbox) command(ctx context.Context, bin string, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = s.root
	cmd.Stdout, cmd.Stderr = io.MultiWriter(os.Stderr), os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", bin, strings.Join(args, " "), err)
	}
	return nil
}
