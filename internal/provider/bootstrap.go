package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/platform-mesh/cert-manager-msp/config"
	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
)

// FieldManager owns what bootstrap applies.
const FieldManager = "cert-manager-msp-bootstrap"

// PortalGroupVersion is Platform Mesh's UI API, which serves ProviderMetadata and
// ContentConfiguration in provider workspaces.
var PortalGroupVersion = schema.GroupVersion{Group: "ui.platform-mesh.io", Version: "v1alpha1"}

// BootstrapOptions say where the provider lives.
type BootstrapOptions struct {
	// Path of the provider workspace; WorkspacePath by default.
	Path logicalcluster.Path
	// WorkspaceType of the provider workspace if it is created, for example
	// "root:provider" on Platform Mesh. Empty leaves kcp's default.
	WorkspaceType string
	// ExistingWorkspace skips creating the workspace: Platform Mesh made it, and the
	// credentials (a provider kubeconfig) may not reach its parent.
	ExistingWorkspace bool
	// PortalStandIn installs config/standin's CRDs for ui.platform-mesh.io first, on a
	// bare kcp that lacks Platform Mesh's own. Never on Platform Mesh.
	PortalStandIn bool
	// OperatorUser, if set, is bound to the operator's ClusterRole: the identity the
	// operator runs as, when that is not kcp admin.
	OperatorUser string
	// Log receives one line per step.
	Log func(format string, args ...any)
}

// Bootstrap makes sure the provider workspace exists and holds the provider's content:
// the APIResourceSchemas, the APIExport, the bind RBAC and, where ui.platform-mesh.io is
// served, the marketplace and portal objects. It is idempotent, and works against any kcp
// that cfg's credentials may create workspaces in.
func Bootstrap(ctx context.Context, cfg *rest.Config, opts BootstrapOptions) error {
	if opts.Path.Empty() {
		opts.Path = logicalcluster.NewPath(WorkspacePath)
	}
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	if !opts.ExistingWorkspace {
		opts.Log("ensuring workspace %s", opts.Path)
		if err := kcp.EnsureWorkspace(ctx, cfg, opts.Path, opts.WorkspaceType); err != nil {
			return err
		}
	}
	c, err := kcp.NewClient(cfg, opts.Path)
	if err != nil {
		return err
	}
	objs, err := Content()
	if err != nil {
		return err
	}
	if err := applyAll(ctx, c, opts, objs); err != nil {
		return err
	}
	if opts.OperatorUser != "" {
		opts.Log("binding %s to user %s", OperatorRole, opts.OperatorUser)
		if err := BindOperator(ctx, cfg, opts.Path, opts.OperatorUser); err != nil {
			return err
		}
	}
	if opts.PortalStandIn {
		if err := installStandIn(ctx, c, opts); err != nil {
			return err
		}
	}
	return applyPortal(ctx, cfg, opts)
}

// applyPortal applies the ProviderMetadata and ContentConfiguration if the workspace
// serves them, and says so if it does not: a bare kcp has no Platform Mesh UI API, and
// the provider works without it.
func applyPortal(ctx context.Context, cfg *rest.Config, opts BootstrapOptions) error {
	// A new client: its REST mapper must not remember a miss from before the stand-ins.
	c, err := kcp.NewClient(cfg, opts.Path)
	if err != nil {
		return err
	}
	served, err := portalServed(c)
	if err != nil {
		return err
	}
	if !served {
		opts.Log("skipping ProviderMetadata and ContentConfiguration: %s is not served in %s (not Platform Mesh?)",
			PortalGroupVersion, opts.Path)
		return nil
	}
	objs, err := kcp.ReadManifests(config.ProviderFS, "platform-mesh")
	if err != nil {
		return err
	}
	return applyAll(ctx, c, opts, objs)
}

func portalServed(c client.Client) (bool, error) {
	_, err := c.RESTMapper().RESTMapping(schema.GroupKind{Group: PortalGroupVersion.Group, Kind: "ProviderMetadata"},
		PortalGroupVersion.Version)
	if meta.IsNoMatchError(err) {
		return false, nil
	}
	return err == nil, err
}

// installStandIn applies the stand-in CRDs and waits until they are served.
func installStandIn(ctx context.Context, c client.Client, opts BootstrapOptions) error {
	objs, err := kcp.ReadManifests(config.ProviderFS, "standin")
	if err != nil {
		return err
	}
	if err := applyAll(ctx, c, opts, objs); err != nil {
		return err
	}
	for _, crd := range objs {
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true,
			func(ctx context.Context) (bool, error) { return established(ctx, c, crd.GetName()) })
		if err != nil {
			return fmt.Errorf("waiting for CRD %s to be established: %w", crd.GetName(), err)
		}
	}
	return nil
}

func established(ctx context.Context, c client.Client, name string) (bool, error) {
	crd := &unstructured.Unstructured{}
	crd.SetAPIVersion("apiextensions.k8s.io/v1")
	crd.SetKind("CustomResourceDefinition")
	if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, cond := range conds {
		m, _ := cond.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true, nil
		}
	}
	return false, nil
}

func applyAll(ctx context.Context, c client.Client, opts BootstrapOptions, objs []*unstructured.Unstructured) error {
	for _, obj := range objs {
		opts.Log("applying %s %s", obj.GetKind(), obj.GetName())
		if err := kcp.Apply(ctx, c, FieldManager, obj); err != nil {
			return fmt.Errorf("in %s: %w", opts.Path, err)
		}
	}
	return nil
}

// Content returns the provider workspace's objects in the order they must be applied:
// schemas before the export that names them, then the rest. The portal objects are not
// among them: Bootstrap applies those only where ui.platform-mesh.io is served.
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

// OperatorRole is the ClusterRole in config/provider with what the operator needs.
const OperatorRole = "cert-manager-msp:operator"

// BindOperator grants user the operator's ClusterRole in the provider workspace at path,
// for an operator that runs as its own identity rather than as kcp admin.
func BindOperator(ctx context.Context, cfg *rest.Config, path logicalcluster.Path, user string) error {
	c, err := kcp.NewClient(cfg, path)
	if err != nil {
		return err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: OperatorRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: OperatorRole},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if err := c.Create(ctx, binding); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("binding %s to %s in %s: %w", OperatorRole, user, path, err)
	}
	return nil
}
