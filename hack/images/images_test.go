package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/switchyard-dev/switchyard/test/registry"
)

// root is the module root, relative to this package.
const root = "../.."

// TestImages builds both images for both platforms once, pushes them into a
// real registry, pulls them back and checks what a cluster would run.
func TestImages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four binaries")
	}
	reg := registry.Start(t)
	ctx := t.Context()
	const version = "v9.8.7-test.1"
	m, err := gitMeta(ctx, root, version)
	if err != nil {
		t.Fatal(err)
	}
	platforms, err := parsePlatforms("linux/amd64,linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	binDir := t.TempDir()
	if err := buildBinaries(ctx, root, binDir, m, platforms); err != nil {
		t.Fatal(err)
	}
	// The registry's own CA stands in for the machine's bundle: a file the
	// test knows, to find again in the image.
	ca := reg.CAPEM
	indexes, err := buildIndexes(binDir, m, ca, platforms)
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{remote.WithAuth(reg.Auth()), remote.WithTransport(reg.Transport()), remote.WithContext(ctx)}
	refs, err := push(ctx, reg.Host, version, indexes, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("same inputs, same digests", func(t *testing.T) {
		again, err := buildIndexes(binDir, m, ca, platforms)
		if err != nil {
			t.Fatal(err)
		}
		for repo, idx := range again {
			d, err := idx.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if d.String() != refs[repo].DigestStr() {
				t.Errorf("%s: rebuilt index %s, pushed %s", repo, d, refs[repo].DigestStr())
			}
		}
	})

	for _, tg := range targets() {
		t.Run(tg.Repo, func(t *testing.T) {
			tag, err := name.NewTag(reg.Host + "/" + tg.Repo + ":" + version)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Head(tag, opts...)
			if err != nil {
				t.Fatalf("the tag: %v", err)
			}
			if desc.Digest.String() != refs[tg.Repo].DigestStr() || desc.MediaType != types.OCIImageIndex {
				t.Errorf("tag %s is %s %s, want the pushed OCI index %s", tag, desc.MediaType, desc.Digest, refs[tg.Repo].DigestStr())
			}
			idx, err := remote.Index(refs[tg.Repo], opts...)
			if err != nil {
				t.Fatalf("pull %s: %v", refs[tg.Repo], err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range im.Manifests {
				if d.Platform == nil {
					t.Fatalf("manifest %s names no platform", d.Digest)
				}
				got = append(got, d.Platform.String())
				img, err := idx.Image(d.Digest)
				if err != nil {
					t.Fatal(err)
				}
				checkImage(t, tg, *d.Platform, img, m, ca)
			}
			if want := []string{"linux/amd64", "linux/arm64"}; !slices.Equal(got, want) {
				t.Errorf("index platforms %v, want %v", got, want)
			}
		})
	}

	t.Run("release", func(t *testing.T) {
		for _, f := range []string{"install.yaml", "namespace-install.yaml"} {
			in, err := os.ReadFile(filepath.Join(root, f))
			if err != nil {
				t.Fatal(err)
			}
			out, err := render(in, version, refs)
			if err != nil {
				t.Fatalf("render %s: %v", f, err)
			}
			before, _ := objectsWithoutImages(t, in)
			after, images := objectsWithoutImages(t, out)
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("%s: rendering changed more than the images (-install +rendered):\n%s", f, diff)
			}
			want := map[string]string{
				"switchyard-controller/controller":       refs["switchyard"].String(),
				"switchyard-image-updater/image-updater": refs["switchyard-image-updater"].String(),
			}
			if diff := cmp.Diff(want, images); diff != "" {
				t.Errorf("%s: Deployment images (-want +got):\n%s", f, diff)
			}
			for _, image := range images {
				ref, err := name.ParseReference(image)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := remote.Head(ref, opts...); err != nil {
					t.Errorf("%s names %s, which the registry does not serve: %v", f, image, err)
				}
			}
		}
	})
}

// checkImage checks one platform's image: its config, its files and, for
// this machine's architecture, the binary run from its layers.
func checkImage(t *testing.T, tg target, p v1.Platform, img v1.Image, m meta, ca []byte) {
	t.Helper()
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if mt != types.OCIManifestSchema1 || cf.OS != p.OS || cf.Architecture != p.Architecture {
		t.Errorf("%s: media type %s, config %s/%s", p, mt, cf.OS, cf.Architecture)
	}
	if !cf.Created.Time.Equal(m.Created) {
		t.Errorf("%s: created %s, want the commit's time %s", p, cf.Created.Time, m.Created)
	}
	wantConfig := v1.Config{
		Entrypoint: []string{"/" + tg.Binary},
		User:       "65532:65532",
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.source":   "https://github.com/switchyard-dev/switchyard",
			"org.opencontainers.image.version":  "v9.8.7-test.1",
			"org.opencontainers.image.revision": m.Revision,
			"org.opencontainers.image.title":    tg.Title,
		},
	}
	if diff := cmp.Diff(wantConfig, cf.Config); diff != "" {
		t.Errorf("%s: config (-want +got):\n%s", p, diff)
	}

	dir := t.TempDir()
	headers := extract(t, img, dir)
	for path, want := range map[string]struct {
		typ      byte
		mode     int64
		uid, gid int
	}{
		tg.Binary:                           {tar.TypeReg, 0o755, 0, 0},
		"etc/passwd":                        {tar.TypeReg, 0o644, 0, 0},
		"etc/group":                         {tar.TypeReg, 0o644, 0, 0},
		"etc/ssl/certs/ca-certificates.crt": {tar.TypeReg, 0o644, 0, 0},
		"home/nonroot":                      {tar.TypeDir, 0o700, 65532, 65532},
		"tmp":                               {tar.TypeDir, 0o1777, 0, 0},
	} {
		h, ok := headers[path]
		if !ok {
			t.Errorf("%s: no /%s in the image", p, path)
			continue
		}
		if h.Typeflag != want.typ || h.Mode != want.mode || h.Uid != want.uid || h.Gid != want.gid {
			t.Errorf("%s: /%s is type %c mode %o owner %d:%d, want type %c mode %o owner %d:%d",
				p, path, h.Typeflag, h.Mode, h.Uid, h.Gid, want.typ, want.mode, want.uid, want.gid)
		}
	}
	readFile := func(path string) string {
		b, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			t.Errorf("%s: %v", p, err)
		}
		return string(b)
	}
	if passwd := readFile("etc/passwd"); !strings.Contains(passwd, "\nnonroot:x:65532:65532:") {
		t.Errorf("%s: /etc/passwd has no nonroot user 65532:\n%s", p, passwd)
	}
	if group := readFile("etc/group"); !strings.Contains(group, "\nnonroot:x:65532:") {
		t.Errorf("%s: /etc/group has no nonroot group 65532:\n%s", p, group)
	}
	if got := readFile("etc/ssl/certs/ca-certificates.crt"); got != string(ca) {
		t.Errorf("%s: the CA bundle is not the one given", p)
	}

	if p.Architecture != runtime.GOARCH {
		return
	}
	out, err := exec.CommandContext(t.Context(), filepath.Join(dir, tg.Binary), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", tg.Binary, err, out)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	want := tg.Binary + ": v9.8.7-test.1+" + m.Revision[:7]
	for _, line := range []string{
		"  BuildDate: " + m.Created.Format(time.RFC3339),
		"  GitCommit: " + m.Revision,
		"  GitTreeState: " + m.TreeState,
		"  Platform: linux/" + runtime.GOARCH,
	} {
		if lines[0] != want || !slices.Contains(lines, line) {
			t.Errorf("/%s --version from the image's layers printed:\n%s\nwant first line %q and %q", tg.Binary, out, want, line)
		}
	}
}

// extract writes the image's flattened filesystem into dir and returns its
// tar headers by path.
func extract(t *testing.T, img v1.Image, dir string) map[string]*tar.Header {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	headers := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return headers
		}
		if err != nil {
			t.Fatal(err)
		}
		path := strings.TrimSuffix(h.Name, "/")
		headers[path] = h
		target := filepath.Join(dir, filepath.FromSlash(path))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Errorf("unexpected entry %s of type %c", h.Name, h.Typeflag)
		}
	}
}

// objectsWithoutImages parses a multi-document manifest, blanks the images
// of the Deployments' containers and returns the objects and those images
// by deployment/container.
func objectsWithoutImages(t *testing.T, manifest []byte) ([]map[string]any, map[string]string) {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	var objs []map[string]any
	images := map[string]string{}
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return objs, images
		} else if err != nil {
			t.Fatal(err)
		}
		if obj == nil {
			continue
		}
		if obj["kind"] == "Deployment" {
			deploy := obj["metadata"].(map[string]any)["name"].(string)
			spec := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
			for _, c := range spec["containers"].([]any) {
				c := c.(map[string]any)
				images[deploy+"/"+c["name"].(string)] = c["image"].(string)
				c["image"] = ""
			}
		}
		objs = append(objs, obj)
	}
}

func TestRenderErrors(t *testing.T) {
	refs := map[string]name.Digest{}
	for _, tg := range targets() {
		d, err := name.NewDigest("registry.example:5000/" + tg.Repo + "@sha256:" + strings.Repeat("ab", 32))
		if err != nil {
			t.Fatal(err)
		}
		refs[tg.Repo] = d
	}
	deployment := func(name string, containers ...string) string {
		s := "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name + "\nspec:\n  template:\n    spec:\n      containers:\n"
		for _, c := range containers {
			s += "      - name: " + c + "\n        image: old:v1\n"
		}
		return s
	}
	for _, tc := range []struct {
		name     string
		manifest string
		refs     map[string]name.Digest
		wantErr  string
	}{
		{"both containers", deployment("a", "controller") + deployment("b", "image-updater"), refs, ""},
		{"a container no image runs", deployment("a", "controller", "sidecar") + deployment("b", "image-updater"), refs,
			`deployment a: container "sidecar" runs none of the images built`},
		{"no image-updater Deployment", deployment("a", "controller"), refs,
			`no Deployment has a container "image-updater" to run switchyard-image-updater`},
		{"an image not pushed", deployment("a", "controller") + deployment("b", "image-updater"),
			map[string]name.Digest{"switchyard": refs["switchyard"]}, "no pushed image for switchyard-image-updater"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := render([]byte(tc.manifest), "v1.0.0", tc.refs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, images := objectsWithoutImages(t, out)
			want := map[string]string{"a/controller": refs["switchyard"].String(), "b/image-updater": refs["switchyard-image-updater"].String()}
			if diff := cmp.Diff(want, images); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name, registry, version, platforms, wantErr string
	}{
		{"no registry", "", "v1.0.0", "linux/amd64", "-registry is required"},
		{"not a reference", "localhost:5000", "v1 0", "linux/amd64", `-version "v1 0"`},
		{"not linux", "localhost:5000", "v1.0.0", "linux/amd64,windows/amd64", `-platforms "windows/amd64": only linux`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(t.Context(), tc.registry, tc.version, tc.platforms, "", "/nonexistent", false)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
