// Package exportgen turns cert-manager's own CRDs into the provider's kcp API surface:
// one APIResourceSchema per exported resource and the APIExport that ties them together,
// with the admission rules of Overlay added.
//
// Nothing of the CRDs is copied by hand. They are read from the cert-manager Go module
// that go.mod pins, converted with the kcp sdk, and written under config/kcp. A test
// regenerates them and fails on any difference, so the committed files can be trusted
// to match the pinned cert-manager field for field.
package exportgen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"

	"github.com/platform-mesh/cert-manager-msp/internal/provider"
)

// CertManagerModule is the Go module whose deploy/crds are the source of truth.
const CertManagerModule = "github.com/cert-manager/cert-manager"

// Resources are what the export offers, as <plural>.<group>; each is read from
// deploy/crds/<group>_<plural>.yaml of the module. ACME's orders.acme.cert-manager.io
// and challenges.acme.cert-manager.io are left out: ACME is not supported yet.
var Resources = []string{
	"certificates.cert-manager.io",
	"certificaterequests.cert-manager.io",
	"issuers.cert-manager.io",
	"clusterissuers.cert-manager.io",
}

// CRDFile is the file name of a resource's CRD in deploy/crds.
func CRDFile(resource string) string {
	plural, group, _ := strings.Cut(resource, ".")
	return group + "_" + plural + ".yaml"
}

// File is one generated manifest.
type File struct {
	Name    string // base name under config/kcp
	Content []byte
}

// Generate reads the CRDs from crdDir (cert-manager's deploy/crds) and returns the
// APIResourceSchemas and the APIExport, in a stable order.
func Generate(crdDir, certManagerVersion string) ([]File, error) {
	var files []File
	export := apisv1alpha2.APIExport{
		TypeMeta: metav1.TypeMeta{APIVersion: apisv1alpha2.SchemeGroupVersion.String(), Kind: "APIExport"},
		ObjectMeta: metav1.ObjectMeta{
			Name:   provider.ExportName,
			Labels: map[string]string{provider.ContentForLabel: provider.ExportName},
		},
		Spec: apisv1alpha2.APIExportSpec{PermissionClaims: provider.PermissionClaims},
	}
	for _, resource := range Resources {
		crd, err := readCRD(filepath.Join(crdDir, CRDFile(resource)))
		if err != nil {
			return nil, err
		}
		if err := applyOverlay(crd); err != nil {
			return nil, err
		}
		schema, err := toSchema(crd, certManagerVersion)
		if err != nil {
			return nil, err
		}
		content, err := marshal(schema)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: "apiresourceschema-" + crd.Name + ".yaml", Content: content})
		export.Spec.Resources = append(export.Spec.Resources, apisv1alpha2.ResourceSchema{
			Group:   crd.Spec.Group,
			Name:    crd.Spec.Names.Plural,
			Schema:  schema.Name,
			Storage: apisv1alpha2.ResourceSchemaStorage{CRD: &apisv1alpha2.ResourceSchemaStorageCRD{}},
		})
	}
	content, err := marshal(&export)
	if err != nil {
		return nil, err
	}
	return append(files, File{Name: "apiexport-" + provider.ExportName + ".yaml", Content: content}), nil
}

// toSchema converts a CRD. APIResourceSchemas are immutable in kcp, so the name prefix
// carries the cert-manager version and a hash of the content: any change to the schema
// yields a new name that the APIExport then points at, instead of a failed update.
func toSchema(crd *apiextensionsv1.CustomResourceDefinition, version string) (*apisv1alpha1.APIResourceSchema, error) {
	spec, err := json.Marshal(crd.Spec)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(spec)
	prefix := "v" + strings.ReplaceAll(strings.TrimPrefix(version, "v"), ".", "-") + "-" + hex.EncodeToString(sum[:])[:8]
	schema, err := apisv1alpha1.CRDToAPIResourceSchema(crd, prefix)
	if err != nil {
		return nil, fmt.Errorf("converting %s: %w", crd.Name, err)
	}
	schema.TypeMeta = metav1.TypeMeta{APIVersion: apisv1alpha1.SchemeGroupVersion.String(), Kind: "APIResourceSchema"}
	return schema, nil
}

func readCRD(path string) (*apiextensionsv1.CustomResourceDefinition, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(raw, crd); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return crd, nil
}

// marshal renders an object as YAML without the empty status and creationTimestamp
// that the Go types would otherwise add.
func marshal(obj any) ([]byte, error) {
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		return nil, err
	}
	header := "# Code generated by hack/gen-schemas from " + CertManagerModule + "/deploy/crds. DO NOT EDIT.\n"
	return append([]byte(header), out...), nil
}

// ModuleDir returns the directory and version of the cert-manager module that go.mod
// pins, as the go command resolves it.
func ModuleDir() (dir, version string, err error) {
	cmd := exec.Command("go", "list", "-m", "-json", CertManagerModule)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("go list -m %s: %w: %s", CertManagerModule, err, stderr.String())
	}
	var mod struct{ Dir, Version string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return "", "", err
	}
	if mod.Dir == "" {
		return "", "", fmt.Errorf("module %s is not downloaded; run go mod download", CertManagerModule)
	}
	return mod.Dir, mod.Version, nil
}
