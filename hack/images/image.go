package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// NonRoot is the user and group the images run as, distroless's nonroot.
const NonRoot = 65532

// CABundle is where the images hold the CA certificates, the first path
// Go's crypto/x509 reads on Linux.
const CABundle = "/etc/ssl/certs/ca-certificates.crt"

// file is one entry of a layer.
type file struct {
	path     string // without the leading slash; a directory ends in /
	mode     int64
	uid, gid int
	data     []byte
}

// baseFiles are the files a static Go binary wants around it.
func baseFiles(ca []byte) []file {
	return []file{
		{path: "etc/", mode: 0o755},
		{path: "etc/passwd", mode: 0o644, data: []byte(fmt.Sprintf(
			"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonRoot, NonRoot))},
		{path: "etc/group", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", NonRoot))},
		{path: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{path: "etc/ssl/", mode: 0o755},
		{path: "etc/ssl/certs/", mode: 0o755},
		{path: CABundle[1:], mode: 0o644, data: ca},
		{path: "home/", mode: 0o755},
		{path: "home/nonroot/", mode: 0o700, uid: NonRoot, gid: NonRoot},
		{path: "tmp/", mode: 0o1777},
	}
}

// layer returns a gzip-compressed OCI layer of files, every entry dated
// created, so equal files give an equal digest.
func layer(files []file, created time.Time) (v1.Layer, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf) // no name, no time in the gzip header
	tw := tar.NewWriter(zw)
	for _, f := range files {
		hdr := &tar.Header{
			Name:    f.path,
			Mode:    f.mode,
			Uid:     f.uid,
			Gid:     f.gid,
			ModTime: created,
			Format:  tar.FormatPAX,
		}
		if f.path[len(f.path)-1] == '/' {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// buildIndexes assembles, for every target, an OCI index over platforms
// from the binaries buildBinaries wrote into binDir.
func buildIndexes(binDir string, m meta, ca []byte, platforms []v1.Platform) (map[string]v1.ImageIndex, error) {
	base, err := layer(baseFiles(ca), m.Created)
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}
	out := map[string]v1.ImageIndex{}
	for _, t := range targets() {
		idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
		for _, p := range platforms {
			bin, err := os.ReadFile(filepath.Join(binDir, platformDir(p), t.Binary))
			if err != nil {
				return nil, err
			}
			img, err := image(t, p, m, base, bin)
			if err != nil {
				return nil, fmt.Errorf("%s for %s: %w", t.Repo, p, err)
			}
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
				Add:        img,
				Descriptor: v1.Descriptor{Platform: &p},
			})
		}
		out[t.Repo] = idx
	}
	return out, nil
}

func image(t target, p v1.Platform, m meta, base v1.Layer, bin []byte) (v1.Image, error) {
	binLayer, err := layer([]file{{path: t.Binary, mode: 0o755, data: bin}}, m.Created)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: m.Created}
	cf := &v1.ConfigFile{
		Architecture: p.Architecture,
		OS:           p.OS,
		Variant:      p.Variant,
		Created:      created,
		Config: v1.Config{
			Entrypoint: []string{"/" + t.Binary},
			User:       fmt.Sprintf("%d:%d", NonRoot, NonRoot),
			WorkingDir: "/",
			Labels: map[string]string{
				"org.opencontainers.image.source":   Source,
				"org.opencontainers.image.version":  m.Version,
				"org.opencontainers.image.revision": m.Revision,
				"org.opencontainers.image.title":    t.Title,
			},
		},
		RootFS: v1.RootFS{Type: "layers"},
	}
	img, err := mutate.ConfigFile(mutate.MediaType(empty.Image, types.OCIManifestSchema1), cf)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	return mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: created,
			CreatedBy: "hack/images: /etc/passwd, /etc/group, /etc/nsswitch.conf, CA certificates, /home/nonroot, /tmp"}},
		mutate.Addendum{Layer: binLayer, History: v1.History{Created: created,
			CreatedBy: fmt.Sprintf("hack/images: CGO_ENABLED=0 go build -trimpath %s (%s)", t.Package, m.Version)}},
	)
}

// push writes every index as registry/repo:version and returns the
// references by digest, registry/repo@sha256:..., by repository.
func push(ctx context.Context, registry, version string, indexes map[string]v1.ImageIndex, nameOpts []name.Option, opts ...remote.Option) (map[string]name.Digest, error) {
	out := map[string]name.Digest{}
	for _, t := range targets() {
		idx := indexes[t.Repo]
		tag, err := name.NewTag(registry+"/"+t.Repo+":"+version, append([]name.Option{name.StrictValidation}, nameOpts...)...)
		if err != nil {
			return nil, err
		}
		if err := remote.WriteIndex(tag, idx, append([]remote.Option{remote.WithContext(ctx)}, opts...)...); err != nil {
			return nil, fmt.Errorf("push %s: %w", tag, err)
		}
		d, err := idx.Digest()
		if err != nil {
			return nil, err
		}
		out[t.Repo] = tag.Context().Digest(d.String())
	}
	return out, nil
}
