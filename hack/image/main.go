// Command image builds the operator's container image without Docker, with
// go-containerregistry (the library ko is built on): a static binary in one layer on an
// empty base, run as a non-root user. It writes an OCI image layout and a tarball that
// `docker load`, `podman load`, `crane push` or `oras cp` take.
//
// ko itself would need a base image from a registry; this needs none, so it works on a
// machine that reaches only the Go module proxy. Where Docker is at hand, the Dockerfile
// at the repository root builds the same image.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Binary is where the operator lives in the image; the chart's Deployment relies on the
// image's entrypoint, not on this path.
const Binary = "/cert-manager-msp"

// NonRoot is the user the image runs as (distroless' "nonroot").
const NonRoot = "65532:65532"

func main() {
	ref := flag.String("tag", "ghcr.io/platform-mesh/cert-manager-msp:dev", "image reference to name the image by")
	out := flag.String("out", "bin/image", "directory for the OCI layout (oci/) and the tarball (image.tar)")
	platforms := flag.String("platforms", "linux/amd64,linux/arm64", "comma-separated platforms to build")
	pkg := flag.String("pkg", "./cmd/cert-manager-msp", "Go package of the operator")
	flag.Parse()
	if err := run(*ref, *out, *pkg, strings.Split(*platforms, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ref, out, pkg string, platforms []string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	idx := v1.ImageIndex(empty.Index)
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	var first v1.Image
	for _, p := range platforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			return err
		}
		img, err := Build(pkg, *plat)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if first == nil {
			first = img
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	if err := os.RemoveAll(filepath.Join(out, "oci")); err != nil {
		return err
	}
	lp, err := layout.Write(filepath.Join(out, "oci"), empty.Index)
	if err != nil {
		return err
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag.String()})); err != nil {
		return err
	}
	// A tarball holds one image: the first platform's, for `docker load` on that machine.
	if err := tarball.WriteToFile(filepath.Join(out, "image.tar"), tag, first); err != nil {
		return err
	}
	fmt.Printf("wrote %s (OCI layout, %s) and %s (%s, %s)\n", filepath.Join(out, "oci"), strings.Join(platforms, ", "),
		filepath.Join(out, "image.tar"), tag, platforms[0])
	return nil
}

// Build compiles pkg for plat and returns the image around it.
func Build(pkg string, plat v1.Platform) (v1.Image, error) {
	dir, err := os.MkdirTemp("", "cert-manager-msp-image")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "operator")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+plat.OS, "GOARCH="+plat.Architecture)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build: %w", err)
	}
	layer, err := binaryLayer(bin)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = plat.OS, plat.Architecture, plat.Variant
	cfg.Config.Entrypoint = []string{Binary}
	cfg.Config.User = NonRoot
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.source":      "https://github.com/platform-mesh/cert-manager-msp",
		"org.opencontainers.image.description": "cert-manager-msp operator for Platform Mesh",
		"org.opencontainers.image.licenses":    "Apache-2.0",
	}
	return mutate.ConfigFile(img, cfg)
}

// binaryLayer is a layer with the binary at Binary, root-owned and not writable, with a
// fixed time so that the same binary gives the same layer digest.
func binaryLayer(bin string) (v1.Layer, error) {
	raw, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: strings.TrimPrefix(Binary, "/"), Mode: 0o555, Size: int64(len(raw)),
		Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(raw); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
}
