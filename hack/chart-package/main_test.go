package main

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/registry"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"
	"oras.land/oras-go/v2/registry/remote"
)

// TestHelmPullsThePackagedChart copies the OCI layout to a registry on loopback, as
// `oras cp` would, and pulls it with Helm's own registry client.
func TestHelmPullsThePackagedChart(t *testing.T) {
	out := t.TempDir()
	tgz, tag, err := Package(t.Context(), "../../charts/cert-manager-msp", out)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(tgz) != "cert-manager-msp-"+tag+".tgz" {
		t.Errorf("package %s for tag %s", tgz, tag)
	}
	srv := httptest.NewServer(ggcrregistry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/charts/cert-manager-msp:" + tag

	store, err := oci.New(filepath.Join(out, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := remote.NewRepository(host + "/charts/cert-manager-msp")
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	if _, err := oras.Copy(t.Context(), store, tag, repo, tag, oras.DefaultCopyOptions); err != nil {
		t.Fatal(err)
	}

	client, err := registry.NewClient(registry.ClientOptPlainHTTP())
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Pull(ref)
	if err != nil {
		t.Fatalf("helm pull %s: %v", ref, err)
	}
	chrt, err := loader.LoadArchive(strings.NewReader(string(res.Chart.Data)))
	if err != nil {
		t.Fatal(err)
	}
	if chrt.Metadata.Name != "cert-manager-msp" || chrt.Metadata.Version != tag || len(chrt.Templates) == 0 {
		t.Errorf("pulled %s %s with %d templates", chrt.Metadata.Name, chrt.Metadata.Version, len(chrt.Templates))
	}
}
