// Package kcp holds the small client helpers this project needs against kcp: a scheme
// with kcp's API types, rest configs scoped to a workspace path, workspace creation,
// and server-side apply of manifests. It talks to any kcp, not only the local one.
package kcp

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"
)

// AddToScheme adds the Kubernetes core types and kcp's apis, core and tenancy types.
var AddToScheme = schemeBuilder.AddToScheme

var schemeBuilder = runtime.NewSchemeBuilder(
	clientgoscheme.AddToScheme,
	apisv1alpha1.AddToScheme,
	apisv1alpha2.AddToScheme,
	tenancyv1alpha1.AddToScheme,
	corev1alpha1.AddToScheme,
)

// Scheme knows what AddToScheme adds.
var Scheme = runtime.NewScheme()

func init() { utilruntime.Must(AddToScheme(Scheme)) }

// ForPath returns a copy of cfg that talks to the workspace at path. Any /clusters/...
// suffix of cfg's host (as in kcp's admin.kubeconfig) is replaced.
func ForPath(cfg *rest.Config, path logicalcluster.Path) *rest.Config {
	out := rest.CopyConfig(cfg)
	u, err := url.Parse(cfg.Host)
	if err != nil || u.Host == "" {
		out.Host = strings.TrimSuffix(cfg.Host, "/") + "/clusters/" + path.String()
		return out
	}
	if i := strings.Index(u.Path, "/clusters/"); i >= 0 {
		u.Path = u.Path[:i]
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/clusters/" + path.String()
	out.Host = u.String()
	return out
}

// NewClient returns a controller-runtime client for the workspace at path.
func NewClient(cfg *rest.Config, path logicalcluster.Path) (client.Client, error) {
	return client.New(ForPath(cfg, path), client.Options{Scheme: Scheme})
}

// EnsureWorkspace creates the workspace at path and any missing parent below root, and
// waits until each is Ready. wsType, if set, is the type of the last workspace only
// (for example root:provider in Platform Mesh); parents get their parent's default type.
func EnsureWorkspace(ctx context.Context, cfg *rest.Config, path logicalcluster.Path, wsType string) error {
	parent, name := path.Split()
	if parent.Empty() {
		return nil // root exists
	}
	if err := EnsureWorkspace(ctx, cfg, parent, ""); err != nil {
		return err
	}
	ws := &tenancyv1alpha1.Workspace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if wsType != "" {
		typePath, typeName := logicalcluster.NewPath(wsType).Split()
		ws.Spec.Type = &tenancyv1alpha1.WorkspaceTypeReference{
			Path: typePath.String(), Name: tenancyv1alpha1.WorkspaceTypeName(typeName),
		}
	}
	c, err := createWorkspace(ctx, cfg, parent, ws)
	if err != nil {
		return fmt.Errorf("creating workspace %s: %w", path, err)
	}
	return WaitForWorkspace(ctx, c, name)
}

// createWorkspace creates ws in parent, tolerating that it exists. A freshly started kcp
// answers /readyz before discovery and the tenancy API work in every workspace, so
// errors other than definite ones (forbidden, invalid, ...) are retried for a while,
// with a new client each time (clients cache discovery).
func createWorkspace(ctx context.Context, cfg *rest.Config, parent logicalcluster.Path, ws *tenancyv1alpha1.Workspace) (client.Client, error) {
	var c client.Client
	var last error
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var err error
		if c, err = NewClient(cfg, parent); err != nil {
			return false, err
		}
		last = c.Create(ctx, ws.DeepCopy())
		switch {
		case last == nil || apierrors.IsAlreadyExists(last):
			return true, nil
		case apierrors.IsForbidden(last), apierrors.IsUnauthorized(last), apierrors.IsInvalid(last), apierrors.IsBadRequest(last):
			return false, last
		}
		return false, nil
	})
	if err != nil && last != nil {
		return nil, last
	}
	return c, err
}

// WaitForWorkspace waits until the named workspace, read through a client of its parent,
// reaches phase Ready.
func WaitForWorkspace(ctx context.Context, parent client.Client, name string) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		ws := &tenancyv1alpha1.Workspace{}
		if last = parent.Get(ctx, client.ObjectKey{Name: name}, ws); last != nil {
			return false, nil
		}
		last = fmt.Errorf("phase is %q", ws.Status.Phase)
		return ws.Status.Phase == corev1alpha1.LogicalClusterPhaseReady, nil
	})
	if err != nil {
		return fmt.Errorf("workspace %s did not become Ready: %w (last: %v)", name, err, last)
	}
	return nil
}
