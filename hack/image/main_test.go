package main

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestImageRunsTheOperator builds the image for this machine, reads it back from the
// OCI layout, checks it runs as non-root, and runs the binary from its layer.
func TestImageRunsTheOperator(t *testing.T) {
	out := t.TempDir()
	plat := "linux/" + runtime.GOARCH
	if err := run("example.com/cert-manager-msp:test", out, "../../cmd/cert-manager-msp", []string{plat}); err != nil {
		t.Fatal(err)
	}
	lp, err := layout.FromPath(filepath.Join(out, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	outer, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	outerManifest, err := outer.IndexManifest()
	if err != nil || len(outerManifest.Manifests) != 1 {
		t.Fatalf("layout index: %v %+v", err, outerManifest)
	}
	if got := outerManifest.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; got != "example.com/cert-manager-msp:test" {
		t.Errorf("ref name %q", got)
	}
	idx, err := outer.ImageIndex(outerManifest.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 || m.Manifests[0].Platform.String() != plat {
		t.Fatalf("image index: %v %+v", err, m)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != NonRoot || len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != Binary {
		t.Errorf("config: user %q, entrypoint %v", cfg.Config.User, cfg.Config.Entrypoint)
	}
	bin := extract(t, img, strings.TrimPrefix(Binary, "/"))
	help, err := exec.Command(bin, "-h").CombinedOutput()
	if err != nil || !strings.Contains(string(help), "-endpoint-slice") {
		t.Errorf("the image's binary does not run: %v\n%s", err, help)
	}
	if _, err := os.Stat(filepath.Join(out, "image.tar")); err != nil {
		t.Error(err)
	}
}

// extract writes the file at path in img's only layer to a temporary file.
func extract(t *testing.T, img v1.Image, path string) string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %v, %d", err, len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s is not in the layer", path)
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name != path {
			continue
		}
		if hdr.Mode&0o222 != 0 || hdr.Uid != 0 {
			t.Errorf("%s is writable or not root-owned: mode %o uid %d", path, hdr.Mode, hdr.Uid)
		}
		out := filepath.Join(t.TempDir(), "operator")
		f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return out
	}
}
