package provider

import (
	"context"
	"fmt"

	"github.com/kcp-dev/logicalcluster/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"

	"github.com/platform-mesh/cert-manager-msp/config"
	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
)

// FieldManager owns what bootstrap applies.
const FieldManager = "cert-manager-msp-bootstrap"

// BootstrapOptions say where the provider lives.
type BootstrapOptions struct {
	// Path of the provider workspace; WorkspacePath by default.
	Path logicalcluster.Path
	// WorkspaceType of the provider workspace if it is created, for example
	// "root:provider" on Platform Mesh. Empty leaves kcp's default.
	WorkspaceType string
	// Log receives one line per step.
	Log func(format string, args ...any)
}

// Bootstrap makes sure the provider workspace exists and holds the provider's content:
// the APIResourceSchemas, the APIExport and the bind RBAC. It is idempotent, and works
// against any kcp that cfg's credentials may create workspaces in.
func Bootstrap(ctx context.Context, cfg *rest.Config, opts BootstrapOptions) error {
	if opts.Path.Empty() {
		opts.Path = logicalcluster.NewPath(WorkspacePath)
	}
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	opts.Log("ensuring workspace %s", opts.Path)
	if err := kcp.EnsureWorkspace(ctx, cfg, opts.Path, opts.WorkspaceType); err != nil {
		return err
	}
	objs, err := Content()
	if err != nil {
		return err
	}
	c, err := kcp.NewClient(cfg, opts.Path)
	if err != nil {
		return err
	}
	for _, obj := range objs {
		opts.Log("applying %s %s", obj.GetKind(), obj.GetName())
		if err := kcp.Apply(ctx, c, FieldManager, obj); err != nil {
			return fmt.Errorf("in %s: %w", opts.Path, err)
		}
	}
	return nil
}

// Content returns the provider workspace's objects in the order they must be applied:
// schemas before the export that names them, then the rest.
func Content() ([]*unstructured.Unstructured, error) {
	var all []*unstructured.Unstructured
	for _, dir := range []string{"kcp", "provider"} {
		objs, err := kcp.ReadManifests(config.ProviderFS, dir)
		if err != nil {
			return nil, err
		}
		all = append(all, objs...)
	}
	// Within kcp/, file names sort the APIExport before its schemas; move schemas first.
	var schemas, rest []*unstructured.Unstructured
	for _, obj := range all {
		if obj.GetKind() == "APIResourceSchema" {
			schemas = append(schemas, obj)
		} else {
			rest = append(rest, obj)
		}
	}
	return append(schemas, rest...), nil
}
