// Command chart-package packages the Helm chart as helm does (`helm package`) and writes
// it as an OCI artifact into an OCI image layout, with the manifest `helm push` would
// send: Helm's config and chart-content media types. Push the layout with
// `oras cp --from-oci-layout bin/chart/oci:<version> <registry>/<repo>/cert-manager-msp:<version>`,
// or push the .tgz with `helm push bin/chart/cert-manager-msp-<version>.tgz oci://<registry>/<repo>`.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/registry"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"
)

func main() {
	chart := flag.String("chart", "charts/cert-manager-msp", "chart directory")
	out := flag.String("out", "bin/chart", "directory for the .tgz and the OCI layout (oci/)")
	flag.Parse()
	tgz, tag, err := Package(context.Background(), *chart, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chart-package:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s and %s (tag %s)\n", tgz, filepath.Join(*out, "oci"), tag)
}

// Package writes <out>/<name>-<version>.tgz and tags the chart's OCI manifest with its
// version in the layout at <out>/oci.
func Package(ctx context.Context, chartDir, out string) (tgz, tag string, err error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", "", err
	}
	p := action.NewPackage()
	p.Destination = out
	if tgz, err = p.Run(chartDir, nil); err != nil {
		return "", "", err
	}
	data, err := os.ReadFile(tgz)
	if err != nil {
		return "", "", err
	}
	chrt, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return "", "", err
	}
	meta, err := json.Marshal(chrt.Metadata)
	if err != nil {
		return "", "", err
	}
	store, err := oci.New(filepath.Join(out, "oci"))
	if err != nil {
		return "", "", err
	}
	layer, err := oras.PushBytes(ctx, store, registry.ChartLayerMediaType, data)
	if err != nil {
		return "", "", err
	}
	config, err := oras.PushBytes(ctx, store, registry.ConfigMediaType, meta)
	if err != nil {
		return "", "", err
	}
	manifest, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, "", oras.PackManifestOptions{
		ConfigDescriptor: &config,
		Layers:           []ocispec.Descriptor{layer},
		// A fixed creation time keeps the manifest digest stable for the same chart.
		ManifestAnnotations: map[string]string{
			ocispec.AnnotationTitle:   chrt.Metadata.Name,
			ocispec.AnnotationVersion: chrt.Metadata.Version,
			ocispec.AnnotationCreated: "1970-01-01T00:00:00Z",
		},
	})
	if err != nil {
		return "", "", err
	}
	tag = chrt.Metadata.Version
	return tgz, tag, store.Tag(ctx, manifest, tag)
}
