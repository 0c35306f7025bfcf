// Package order binds a consumer workspace to the provider's APIExport, exactly as the
// Platform Mesh marketplace does when a user installs a provider: an apis.kcp.io/v1alpha2
// APIBinding with generateName, accepting every permission claim with matchAll.
package order

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"

	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
	"github.com/platform-mesh/cert-manager-msp/internal/provider"
)

// Options describe one order.
type Options struct {
	// Workspace is the consumer workspace that orders, e.g. root:orgs:acme:web-team.
	Workspace logicalcluster.Path
	// ExportPath and ExportName locate the APIExport; the provider's by default.
	ExportPath logicalcluster.Path
	ExportName string
	// Timeout bounds the wait for the binding to become Bound.
	Timeout time.Duration
}

// Result says which binding serves the order.
type Result struct {
	BindingName string
	// Existing is true when the workspace had already ordered.
	Existing bool
}

// ErrNotBound is returned when the binding did not become Bound in time; the binding
// has been removed again so that no half-made order is left behind.
var ErrNotBound = errors.New("binding did not become Bound")

// Order binds the workspace to the export and waits until the binding is Bound. Ordering
// twice is harmless: an existing binding to the same export is reused.
func Order(ctx context.Context, cfg *rest.Config, opts Options) (Result, error) {
	opts = defaults(opts)
	if err := checkWorkspace(ctx, cfg, opts.Workspace); err != nil {
		return Result{}, err
	}
	if err := checkExport(ctx, cfg, opts); err != nil {
		return Result{}, err
	}
	c, err := kcp.NewClient(cfg, opts.Workspace)
	if err != nil {
		return Result{}, err
	}
	binding, err := existingBinding(ctx, c, opts)
	if err != nil {
		return Result{}, err
	}
	res := Result{Existing: binding != nil}
	if binding == nil {
		binding = NewBinding(opts.ExportPath, opts.ExportName, nil)
		if err := c.Create(ctx, binding); err != nil {
			return Result{}, fmt.Errorf("creating APIBinding in %s: %w", opts.Workspace, err)
		}
	}
	res.BindingName = binding.Name
	if err := waitBound(ctx, c, binding.Name, opts.Timeout); err != nil {
		if !res.Existing {
			// Leave nothing half-made: the binding was ours and never worked.
			_ = c.Delete(context.WithoutCancel(ctx), binding)
		}
		return res, err
	}
	return res, nil
}

// NewBinding is the APIBinding the marketplace creates: generateName from the export,
// and every claim the export makes accepted for all objects. claims lists the export's
// claims; nil means the provider's own.
func NewBinding(exportPath logicalcluster.Path, exportName string, claims []apisv1alpha2.PermissionClaim) *apisv1alpha2.APIBinding {
	if claims == nil {
		claims = provider.PermissionClaims
	}
	b := &apisv1alpha2.APIBinding{
		ObjectMeta: metav1.ObjectMeta{GenerateName: exportName + "-"},
		Spec: apisv1alpha2.APIBindingSpec{
			Reference: apisv1alpha2.BindingReference{
				Export: &apisv1alpha2.ExportBindingReference{Path: exportPath.String(), Name: exportName},
			},
		},
	}
	for _, claim := range claims {
		b.Spec.PermissionClaims = append(b.Spec.PermissionClaims, apisv1alpha2.AcceptablePermissionClaim{
			ScopedPermissionClaim: apisv1alpha2.ScopedPermissionClaim{
				PermissionClaim: claim,
				Selector:        apisv1alpha2.PermissionClaimSelector{MatchAll: true},
			},
			State: apisv1alpha2.ClaimAccepted,
		})
	}
	return b
}

func defaults(opts Options) Options {
	if opts.ExportPath.Empty() {
		opts.ExportPath = logicalcluster.NewPath(provider.WorkspacePath)
	}
	if opts.ExportName == "" {
		opts.ExportName = provider.ExportName
	}
	if opts.Timeout == 0 {
		opts.Timeout = time.Minute
	}
	return opts
}

// checkWorkspace reads the workspace's own LogicalCluster, which anyone who may order in
// the workspace may read (its parent need not be readable). kcp answers a path that
// does not exist like one the caller may not enter, so the error says both.
func checkWorkspace(ctx context.Context, cfg *rest.Config, path logicalcluster.Path) error {
	if parent, _ := path.Split(); parent.Empty() {
		return fmt.Errorf("workspace %q: order into an account workspace, not root", path)
	}
	c, err := kcp.NewClient(cfg, path)
	if err != nil {
		return fmt.Errorf("workspace %s does not exist (or is not visible to you): %w", path, err)
	}
	lc := &corev1alpha1.LogicalCluster{}
	if err := c.Get(ctx, client.ObjectKey{Name: corev1alpha1.LogicalClusterName}, lc); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
			return fmt.Errorf("workspace %s does not exist (or is not visible to you): %w", path, err)
		}
		return fmt.Errorf("reading workspace %s: %w", path, err)
	}
	return nil
}

func checkExport(ctx context.Context, cfg *rest.Config, opts Options) error {
	c, err := kcp.NewClient(cfg, opts.ExportPath)
	if err != nil {
		return err
	}
	export := &apisv1alpha2.APIExport{}
	if err := c.Get(ctx, client.ObjectKey{Name: opts.ExportName}, export); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
			return fmt.Errorf("APIExport %s in %s does not exist (bootstrap the provider first): %w",
				opts.ExportName, opts.ExportPath, err)
		}
		return fmt.Errorf("reading APIExport %s in %s: %w", opts.ExportName, opts.ExportPath, err)
	}
	return nil
}

func existingBinding(ctx context.Context, c client.Client, opts Options) (*apisv1alpha2.APIBinding, error) {
	list := &apisv1alpha2.APIBindingList{}
	if err := c.List(ctx, list); err != nil {
		return nil, fmt.Errorf("listing APIBindings in %s: %w", opts.Workspace, err)
	}
	for i := range list.Items {
		ref := list.Items[i].Spec.Reference.Export
		if ref != nil && ref.Name == opts.ExportName && ref.Path == opts.ExportPath.String() {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

func waitBound(ctx context.Context, c client.Client, name string, timeout time.Duration) error {
	var reason string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		b := &apisv1alpha2.APIBinding{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, b); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		reason = notBoundReason(b)
		return b.Status.Phase == apisv1alpha2.APIBindingPhaseBound, nil
	})
	if err != nil {
		return fmt.Errorf("%w: %s: %s", ErrNotBound, name, reason)
	}
	return nil
}

// notBoundReason summarises the conditions that are not True, for the error message.
func notBoundReason(b *apisv1alpha2.APIBinding) string {
	msg := fmt.Sprintf("phase %q", b.Status.Phase)
	for _, c := range b.Status.Conditions {
		if c.Status != "True" {
			msg += fmt.Sprintf("; %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	return msg
}
