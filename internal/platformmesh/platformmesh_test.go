package platformmesh

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/platform-mesh/cert-manager-msp/config"
	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
	"github.com/platform-mesh/cert-manager-msp/internal/provider"
)

func TestGraphQLGroup(t *testing.T) {
	for in, want := range map[string]string{
		"cert-manager.io":     "cert_manager_io",
		"ui.platform-mesh.io": "ui_platform_mesh_io",
		"core":                "core",
		"3scale.net":          "_3scale_net",
	} {
		if got := GraphQLGroup(in); got != want {
			t.Errorf("GraphQLGroup(%q) = %q, want %q", in, got, want)
		}
	}
}

func read(t *testing.T, fsys fs.FS, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := kcp.ReadManifests(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func one(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s, got %d", kind, len(found))
	}
	return found[0]
}

// TestMarketplaceJoinsOnTheExport checks what Platform Mesh's marketplace joins on: the
// ProviderMetadata has the export's name, and the export, the ProviderMetadata and the
// ContentConfiguration carry the content-for label with it.
func TestMarketplaceJoinsOnTheExport(t *testing.T) {
	portal := read(t, config.ProviderFS, "platform-mesh")
	export := one(t, read(t, config.ProviderFS, "kcp"), "APIExport")
	meta := one(t, portal, "ProviderMetadata")
	cc := one(t, portal, "ContentConfiguration")
	if meta.GetName() != export.GetName() || export.GetName() != provider.ExportName {
		t.Errorf("ProviderMetadata %q, APIExport %q: the marketplace joins them by name", meta.GetName(), export.GetName())
	}
	for _, o := range []*unstructured.Unstructured{export, meta, cc} {
		if got := o.GetLabels()[provider.ContentForLabel]; got != provider.ExportName {
			t.Errorf("%s %s: %s=%q, want %q", o.GetKind(), o.GetName(), provider.ContentForLabel, got, provider.ExportName)
		}
	}
	if got := cc.GetLabels()["ui.platform-mesh.io/entity"]; got != "core_platform-mesh_io_account" {
		t.Errorf("ContentConfiguration is for entity %q, want the account", got)
	}
	for _, field := range []string{"displayName", "description"} {
		if s, _, _ := unstructured.NestedString(meta.Object, "spec", field); s == "" {
			t.Errorf("ProviderMetadata has no spec.%s", field)
		}
	}
	for _, field := range [][]string{{"contacts"}, {"documentation"}, {"tags"}} {
		if l, _, _ := unstructured.NestedSlice(meta.Object, append([]string{"spec"}, field...)...); len(l) == 0 {
			t.Errorf("ProviderMetadata has no spec.%s", field[0])
		}
	}
	for _, variant := range []string{"light", "dark"} {
		uri, _, _ := unstructured.NestedString(meta.Object, "spec", "icon", variant, "data")
		svg, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(uri, "data:image/svg+xml;base64,"))
		if err != nil || !bytes.HasPrefix(svg, []byte("<svg")) {
			t.Errorf("%s icon is not a base64 SVG data URI: %v", variant, err)
		}
	}
}

func TestAPIExportPolicyNamesTheExport(t *testing.T) {
	policy := one(t, read(t, config.OrgsFS, "platform-mesh/orgs"), "APIExportPolicy")
	name, _, _ := unstructured.NestedString(policy.Object, "spec", "apiExportRef", "name")
	path, _, _ := unstructured.NestedString(policy.Object, "spec", "apiExportRef", "clusterPath")
	if name != provider.ExportName || path != provider.WorkspacePath {
		t.Errorf("policy refers to %s in %s, want %s in %s", name, path, provider.ExportName, provider.WorkspacePath)
	}
}

// schemas returns the exported APIResourceSchemas by Kind.
func schemas(t *testing.T) map[string]*apisv1alpha1.APIResourceSchema {
	t.Helper()
	out := map[string]*apisv1alpha1.APIResourceSchema{}
	for _, o := range read(t, config.ProviderFS, "kcp") {
		if o.GetKind() != "APIResourceSchema" {
			continue
		}
		s := &apisv1alpha1.APIResourceSchema{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, s); err != nil {
			t.Fatal(err)
		}
		out[s.Spec.Names.Kind] = s
	}
	return out
}

// resourceRef is what the portal needs to find one resource through the gateway.
type resourceRef struct {
	where                               string
	group, version, kind, plural, scope string
	fields                              []string // property paths
}

// TestContentConfigurationMatchesTheExport parses the portal configuration and checks
// every group, version, kind, plural, scope and field path it names against the
// exported schemas, so that a typo never reaches a consumer's portal as an empty view.
func TestContentConfigurationMatchesTheExport(t *testing.T) {
	cc := one(t, read(t, config.ProviderFS, "platform-mesh"), "ContentConfiguration")
	if ct, _, _ := unstructured.NestedString(cc.Object, "spec", "inlineConfiguration", "contentType"); ct != "json" {
		t.Fatalf("contentType %q", ct)
	}
	content, _, _ := unstructured.NestedString(cc.Object, "spec", "inlineConfiguration", "content")
	var doc map[string]any
	if err := json.Unmarshal([]byte(content), &doc); err != nil {
		t.Fatalf("content is not JSON: %v", err)
	}
	refs := collect("", doc)
	kinds := map[string]bool{}
	for _, ref := range refs {
		kinds[ref.kind] = true
	}
	want := []string{"Certificate", "CertificateRequest", "ClusterIssuer", "Issuer"}
	for _, k := range want {
		if !kinds[k] {
			t.Errorf("the portal has no view of %s", k)
		}
	}
	all := schemas(t)
	for _, ref := range refs {
		s, ok := all[ref.kind]
		if !ok {
			t.Errorf("%s: kind %q is not exported", ref.where, ref.kind)
			continue
		}
		if ref.group != GraphQLGroup(s.Spec.Group) {
			t.Errorf("%s: group %q, the gateway calls %s %q", ref.where, ref.group, s.Spec.Group, GraphQLGroup(s.Spec.Group))
		}
		if ref.plural != "" && !strings.EqualFold(ref.plural, s.Spec.Names.Plural) {
			t.Errorf("%s: entityCollection %q, plural is %q", ref.where, ref.plural, s.Spec.Names.Plural)
		}
		if ref.scope != "" && ref.scope != string(s.Spec.Scope) {
			t.Errorf("%s: scope %q, schema says %q", ref.where, ref.scope, s.Spec.Scope)
		}
		v := version(s, ref.version)
		if v == nil {
			t.Errorf("%s: version %q is not served", ref.where, ref.version)
			continue
		}
		props, err := v.GetSchema()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ref.fields {
			if !hasPath(props, strings.Split(f, ".")) {
				t.Errorf("%s: %s has no field %s", ref.where, ref.kind, f)
			}
		}
	}
}

func version(s *apisv1alpha1.APIResourceSchema, name string) *apisv1alpha1.APIResourceVersion {
	for i, v := range s.Spec.Versions {
		if v.Name == name && v.Served {
			return &s.Spec.Versions[i]
		}
	}
	return nil
}

// collect walks the Luigi configuration for resourceDefinitions and graphqlEntities.
func collect(where string, v any) []resourceRef {
	var refs []resourceRef
	switch v := v.(type) {
	case map[string]any:
		if rd, ok := v["resourceDefinition"].(map[string]any); ok {
			refs = append(refs, resourceRef{where: where + ".resourceDefinition",
				group: str(rd["apiGroup"]), version: str(rd["version"]), kind: str(rd["entity"]),
				plural: str(rd["entityCollection"]), scope: str(rd["scope"]), fields: fieldPaths(rd)})
		}
		if ge, ok := v["graphqlEntity"].(map[string]any); ok {
			refs = append(refs, resourceRef{where: where + ".graphqlEntity",
				group: str(ge["group"]), version: str(ge["version"]), kind: str(ge["kind"])})
		}
		for k, child := range v {
			refs = append(refs, collect(where+"."+k, child)...)
		}
	case []any:
		for _, child := range v {
			refs = append(refs, collect(where+"[]", child)...)
		}
	}
	return refs
}

func str(v any) string { s, _ := v.(string); return s }

var jsonPathPrefix = regexp.MustCompile(`^[A-Za-z.]+`)

// fieldPaths lists every property and jsonPathExpression prefix a resourceDefinition
// reads, except metadata (always there).
func fieldPaths(rd map[string]any) []string {
	var paths []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			switch p := v["property"].(type) {
			case string:
				paths = append(paths, p)
			case []any:
				for _, e := range p {
					paths = append(paths, str(e))
				}
			}
			if e := str(v["jsonPathExpression"]); e != "" {
				paths = append(paths, strings.TrimSuffix(jsonPathPrefix.FindString(e), "."))
			}
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(rd)
	paths = slices.DeleteFunc(paths, func(p string) bool { return strings.HasPrefix(p, "metadata.") })
	slices.Sort(paths)
	return slices.Compact(paths)
}

// hasPath follows a dotted path through properties, stepping into array items.
func hasPath(s *apiextensionsv1.JSONSchemaProps, path []string) bool {
	for s != nil && s.Type == "array" && s.Items != nil {
		s = s.Items.Schema
	}
	if len(path) == 0 {
		return s != nil
	}
	if s == nil {
		return false
	}
	next, ok := s.Properties[path[0]]
	return ok && hasPath(&next, path[1:])
}

// TestDropInIsGenerated: the committed drop-in is what `go tool task generate` writes.
func TestDropInIsGenerated(t *testing.T) {
	files, err := DropIn()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..", DropInDir)
	want := map[string]bool{}
	for _, f := range files {
		want[f.Name] = true
		got, err := os.ReadFile(filepath.Join(root, f.Name))
		if err != nil || !bytes.Equal(got, f.Content) {
			t.Errorf("%s is stale or missing (%v); run `go tool task generate`", f.Name, err)
		}
	}
	onDisk, _ := filepath.Glob(filepath.Join(root, ProviderDir, "*"))
	for _, p := range onDisk {
		if rel, _ := filepath.Rel(root, p); !want[filepath.ToSlash(rel)] {
			t.Errorf("%s is not generated any more; run `go tool task generate`", rel)
		}
	}
}

// TestDropInBuildsWithKustomize runs kustomize (kubectl kustomize's engine) on both
// directories Platform Mesh's local setup applies, and checks what comes out.
func TestDropInBuildsWithKustomize(t *testing.T) {
	root := filepath.Join("..", "..", DropInDir)
	for dir, wantKinds := range map[string][]string{
		ProviderDir: {"APIExport", "APIResourceSchema", "ClusterRole", "ClusterRoleBinding", "ContentConfiguration", "ProviderMetadata"},
		"kustomize/components/example-cert-manager-provider": {"HelmRelease", "Namespace", "OCIRepository"},
	} {
		k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
		res, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(root, dir))
		if err != nil {
			t.Errorf("kustomize build %s: %v", dir, err)
			continue
		}
		var kinds []string
		for _, r := range res.Resources() {
			kinds = append(kinds, r.GetKind())
		}
		slices.Sort(kinds)
		kinds = slices.Compact(kinds)
		if !slices.Equal(kinds, wantKinds) {
			t.Errorf("kustomize build %s gives %v, want %v", dir, kinds, wantKinds)
		}
	}
}

// TestRBACNamesTheExport: the bind and operator roles name this export, so that a fork
// that renames the export cannot keep granting the old name.
func TestRBACNamesTheExport(t *testing.T) {
	var checked int
	for _, role := range read(t, config.ProviderFS, "provider") {
		if role.GetKind() != "ClusterRole" {
			continue
		}
		rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
		for _, r := range rules {
			rule, _ := r.(map[string]any)
			groups, _, _ := unstructured.NestedStringSlice(rule, "apiGroups")
			if !slices.Contains(groups, "apis.kcp.io") {
				continue
			}
			names, _, _ := unstructured.NestedStringSlice(rule, "resourceNames")
			if !slices.Equal(names, []string{provider.ExportName}) {
				t.Errorf("ClusterRole %s grants %v on resourceNames %v, want [%s]", role.GetName(), rule["resources"], names, provider.ExportName)
			}
			checked++
		}
	}
	if checked < 3 {
		t.Errorf("checked %d kcp rules, want the bind rule and the operator's two", checked)
	}
}
