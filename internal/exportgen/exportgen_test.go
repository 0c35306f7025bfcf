package exportgen

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/yaml"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"

	"github.com/platform-mesh/cert-manager-msp/internal/provider"
)

const committedDir = "../../config/kcp"

func generate(t *testing.T) (string, []File) {
	t.Helper()
	dir, version, err := ModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	crdDir := filepath.Join(dir, "deploy", "crds")
	files, err := Generate(crdDir, version)
	if err != nil {
		t.Fatal(err)
	}
	return crdDir, files
}

// TestCommittedFilesAreUpToDate fails when regenerating would change config/kcp, or when
// config/kcp holds a file the generator does not write.
func TestCommittedFilesAreUpToDate(t *testing.T) {
	_, files := generate(t)
	var want []string
	for _, f := range files {
		want = append(want, f.Name)
		got, err := os.ReadFile(filepath.Join(committedDir, f.Name))
		if err != nil {
			t.Errorf("%s is not committed: %v (run: go tool task generate)", f.Name, err)
			continue
		}
		if !bytes.Equal(got, f.Content) {
			t.Errorf("%s differs from what the generator writes (run: go tool task generate)", f.Name)
		}
	}
	entries, err := os.ReadDir(committedDir)
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, e := range entries {
		have = append(have, e.Name())
	}
	sort.Strings(want)
	if !equality.Semantic.DeepEqual(have, want) {
		t.Errorf("config/kcp holds %v, the generator writes %v", have, want)
	}
}

// TestSchemasMatchUpstream reads the committed schemas back and compares every version
// with cert-manager's CRD plus the overlay: the OpenAPI schema, served/storage flags,
// subresources and printer columns must survive the conversion unchanged.
func TestSchemasMatchUpstream(t *testing.T) {
	crdDir, _ := generate(t)
	for _, resource := range Resources {
		plural, _, _ := strings.Cut(resource, ".")
		t.Run(plural, func(t *testing.T) {
			crd, err := readCRD(filepath.Join(crdDir, CRDFile(resource)))
			if err != nil {
				t.Fatal(err)
			}
			upstreamSpec := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].XValidations
			// Upstream plus the reviewed overlay, and nothing else.
			if err := applyOverlay(crd); err != nil {
				t.Fatal(err)
			}
			if got := len(crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].XValidations); got != len(upstreamSpec)+len(Overlay[plural]) {
				t.Errorf("spec has %d rules, want upstream's %d plus %d", got, len(upstreamSpec), len(Overlay[plural]))
			}
			raw, err := os.ReadFile(filepath.Join(committedDir, "apiresourceschema-"+crd.Name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			schema := &apisv1alpha1.APIResourceSchema{}
			if err := yaml.UnmarshalStrict(raw, schema); err != nil {
				t.Fatal(err)
			}
			if schema.Spec.Group != crd.Spec.Group || schema.Spec.Scope != crd.Spec.Scope ||
				!equality.Semantic.DeepEqual(schema.Spec.Names, crd.Spec.Names) {
				t.Errorf("group, scope or names differ from the CRD")
			}
			if len(schema.Spec.Versions) != len(crd.Spec.Versions) {
				t.Fatalf("schema has %d versions, CRD %d", len(schema.Spec.Versions), len(crd.Spec.Versions))
			}
			for i, v := range crd.Spec.Versions {
				got := schema.Spec.Versions[i]
				if got.Name != v.Name || got.Served != v.Served || got.Storage != v.Storage {
					t.Errorf("version %s: served/storage differ", v.Name)
				}
				if v.Subresources == nil || v.Subresources.Status == nil || got.Subresources.Status == nil {
					t.Errorf("version %s: status subresource lost", v.Name)
				}
				if !equality.Semantic.DeepEqual(got.AdditionalPrinterColumns, v.AdditionalPrinterColumns) {
					t.Errorf("version %s: printer columns differ", v.Name)
				}
				openAPI, err := got.GetSchema()
				if err != nil {
					t.Fatal(err)
				}
				if !equality.Semantic.DeepEqual(openAPI, v.Schema.OpenAPIV3Schema) {
					t.Errorf("version %s: OpenAPI schema differs from upstream", v.Name)
				}
			}
		})
	}
}

// TestExportReferencesEverySchema checks that the APIExport offers the four resources by
// the exact generated schema names, and claims exactly the verbs the operator needs.
func TestExportReferencesEverySchema(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(committedDir, "apiexport-"+provider.ExportName+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	export := &apisv1alpha2.APIExport{}
	if err := yaml.UnmarshalStrict(raw, export); err != nil {
		t.Fatal(err)
	}
	if len(export.Spec.Resources) != len(Resources) {
		t.Fatalf("export offers %d resources, want %d", len(export.Spec.Resources), len(Resources))
	}
	for i, r := range export.Spec.Resources {
		if r.Name+"."+r.Group != Resources[i] || r.Storage.CRD == nil {
			t.Errorf("resource %d: got %s.%s", i, r.Name, r.Group)
		}
		if _, err := os.Stat(filepath.Join(committedDir, "apiresourceschema-"+Resources[i]+".yaml")); err != nil {
			t.Errorf("resource %s has no schema file", r.Name)
		}
		if want := "." + Resources[i]; !strings.HasSuffix(r.Schema, want) || len(r.Schema) == len(want) {
			t.Errorf("resource %s points at schema %q", r.Name, r.Schema)
		}
	}
	verbs := map[string][]string{}
	for _, c := range export.Spec.PermissionClaims {
		verbs[c.Group+"/"+c.Resource] = c.Verbs
	}
	want := map[string][]string{
		"/secrets":             {"get", "list", "watch", "create", "update", "patch", "delete"},
		"/events":              {"create", "patch", "update"},
		"events.k8s.io/events": {"create", "patch", "update"},
		"/namespaces":          {"get", "list", "watch", "create"},
	}
	if !equality.Semantic.DeepEqual(verbs, want) {
		t.Errorf("claims = %v, want %v", verbs, want)
	}
}
