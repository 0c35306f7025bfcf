package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcbuilder "sigs.k8s.io/multicluster-runtime/pkg/builder"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"

	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
	"github.com/platform-mesh/cert-manager-msp/internal/order"
	"github.com/platform-mesh/cert-manager-msp/internal/provider"
)

const probeNamespace = "msp-e2e-probe"

// writeProbe is a controller that, in every engaged workspace, creates a namespace and a
// Secret through the export's permission claims. The Secret records which logical
// cluster the operator believed it was writing to.
func writeProbe(mgr mcmanager.Manager) error {
	return mcbuilder.ControllerManagedBy(mgr).
		Named("e2e-probe").
		For(&apisv1alpha1.APIBinding{}).
		Complete(mcreconcile.Func(func(ctx context.Context, req mcreconcile.Request) (ctrl.Result, error) {
			cl, err := mgr.GetCluster(ctx, req.ClusterName)
			if err != nil {
				return ctrl.Result{}, err
			}
			c := cl.GetClient()
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probeNamespace}}
			if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
				return ctrl.Result{}, err
			}
			secret := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: probeNamespace, Name: "engaged"},
				StringData: map[string]string{"cluster": string(req.ClusterName)},
			}
			if err := c.Create(ctx, secret); err != nil && !apierrors.IsAlreadyExists(err) {
				return ctrl.Result{}, err
			}
			return ctrl.Result{}, nil
		}))
}

// TestOneOperatorEngagesEveryBoundWorkspace: two accounts order, one operator engages
// both through the APIExportEndpointSlice and writes a Secret into each through the
// claim, and each consumer reads its own back.
func TestOneOperatorEngagesEveryBoundWorkspace(t *testing.T) {
	t.Parallel()
	accounts := []string{"root:orgs:e2e-engage-acme:web-team", "root:orgs:e2e-engage-globex:payments"}
	clients := map[string]client.Client{}
	clusters := map[string]string{}
	for _, path := range accounts {
		c, cluster := account(t, path)
		clients[path], clusters[path] = c, cluster.String()
		orderIn(t, path)
	}
	startOperator(t, writeProbe)

	for _, path := range accounts {
		eventually(t, 90*time.Second, "probe Secret in "+path, func(ctx context.Context) error {
			s := &corev1.Secret{}
			if err := clients[path].Get(ctx, client.ObjectKey{Namespace: probeNamespace, Name: "engaged"}, s); err != nil {
				return err
			}
			if got := string(s.Data["cluster"]); got != clusters[path] {
				return fmt.Errorf("secret in %s was written for cluster %q, want %q", path, got, clusters[path])
			}
			return nil
		})
	}
}

// TestBootstrapIsIdempotentAndExportsTheAPI runs bootstrap again on the provider
// TestMain bootstrapped, then checks the export kcp serves.
func TestBootstrapIsIdempotentAndExportsTheAPI(t *testing.T) {
	t.Parallel()
	if err := provider.Bootstrap(t.Context(), admin, provider.BootstrapOptions{PortalStandIn: true}); err != nil {
		t.Fatalf("second bootstrap: %v", err)
	}
	c, err := kcp.NewClient(admin, logicalcluster.NewPath(provider.WorkspacePath))
	if err != nil {
		t.Fatal(err)
	}
	export := &apisv1alpha2.APIExport{}
	if err := c.Get(t.Context(), client.ObjectKey{Name: provider.ExportName}, export); err != nil {
		t.Fatal(err)
	}
	var resources []string
	for _, r := range export.Spec.Resources {
		resources = append(resources, r.Name+"."+r.Group)
		schema := &apisv1alpha1.APIResourceSchema{}
		if err := c.Get(t.Context(), client.ObjectKey{Name: r.Schema}, schema); err != nil {
			t.Errorf("schema %s of %s: %v", r.Schema, r.Name, err)
		}
	}
	want := "[certificates.cert-manager.io certificaterequests.cert-manager.io issuers.cert-manager.io clusterissuers.cert-manager.io]"
	if fmt.Sprint(resources) != want {
		t.Errorf("export offers %v, want %s", resources, want)
	}
	if len(export.Spec.PermissionClaims) != len(provider.PermissionClaims) {
		t.Errorf("export claims %v", export.Spec.PermissionClaims)
	}
	if export.Labels[provider.ContentForLabel] != provider.ExportName {
		t.Errorf("export labels %v lack %s", export.Labels, provider.ContentForLabel)
	}
}

// TestBootstrapAppliesThePortalObjectsWhereServed: in the provider workspace (with the
// stand-in UI API, as in the local setup) the marketplace entry and the portal views are
// there; in a workspace without the UI API, bootstrap succeeds and leaves them out.
func TestBootstrapAppliesThePortalObjectsWhereServed(t *testing.T) {
	t.Parallel()
	c, err := kcp.NewClient(admin, logicalcluster.NewPath(provider.WorkspacePath))
	if err != nil {
		t.Fatal(err)
	}
	for kind, name := range map[string]string{"ProviderMetadata": provider.ExportName, "ContentConfiguration": provider.ExportName + "-ui"} {
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(provider.PortalGroupVersion.WithKind(kind))
		if err := c.Get(t.Context(), client.ObjectKey{Name: name}, obj); err != nil {
			t.Errorf("%s %s in the provider workspace: %v", kind, name, err)
			continue
		}
		if obj.GetLabels()[provider.ContentForLabel] != provider.ExportName {
			t.Errorf("%s %s labels %v", kind, name, obj.GetLabels())
		}
	}

	bare := logicalcluster.NewPath("root:providers:e2e-bare")
	if err := provider.Bootstrap(t.Context(), admin, provider.BootstrapOptions{Path: bare}); err != nil {
		t.Fatalf("bootstrap without the UI API: %v", err)
	}
	bc, err := kcp.NewClient(admin, bare)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bc.RESTMapper().RESTMapping(schema.GroupKind{Group: provider.PortalGroupVersion.Group, Kind: "ProviderMetadata"})
	if !meta.IsNoMatchError(err) {
		t.Errorf("bare workspace serves ProviderMetadata (%v): bootstrap installed the stand-in unasked", err)
	}
	export := &apisv1alpha2.APIExport{}
	if err := bc.Get(t.Context(), client.ObjectKey{Name: provider.ExportName}, export); err != nil {
		t.Errorf("bare workspace lacks the export: %v", err)
	}
}

// TestOrder covers what a user of `mspctl order` sees: a Bound binding that accepts every
// claim, a second order that reuses it, and clear errors with nothing left behind.
func TestOrder(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-order:team"
	c, _ := account(t, path)

	first := orderIn(t, path)
	again := orderIn(t, path)
	if first.Existing || !again.Existing || again.BindingName != first.BindingName {
		t.Errorf("second order should reuse %s, got %+v", first.BindingName, again)
	}
	b := &apisv1alpha2.APIBinding{}
	if err := c.Get(t.Context(), client.ObjectKey{Name: first.BindingName}, b); err != nil {
		t.Fatal(err)
	}
	if len(b.Spec.PermissionClaims) != len(provider.PermissionClaims) {
		t.Errorf("binding accepts %d claims, want %d", len(b.Spec.PermissionClaims), len(provider.PermissionClaims))
	}
	for _, claim := range b.Spec.PermissionClaims {
		if claim.State != apisv1alpha2.ClaimAccepted || !claim.Selector.MatchAll {
			t.Errorf("claim %s not accepted with matchAll", claim.Resource)
		}
	}

	t.Run("missing workspace", func(t *testing.T) {
		_, err := order.Order(t.Context(), admin, order.Options{Workspace: logicalcluster.NewPath("root:orgs:e2e-order:nope")})
		if err == nil || !contains(err, "workspace root:orgs:e2e-order:nope does not exist") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("missing export", func(t *testing.T) {
		const other = "root:orgs:e2e-order:other"
		oc, _ := account(t, other)
		_, err := order.Order(t.Context(), admin, order.Options{
			Workspace: logicalcluster.NewPath(other), ExportName: "no-such-export",
		})
		if err == nil || !contains(err, "APIExport no-such-export in root:providers:cert-manager does not exist") {
			t.Errorf("got %v", err)
		}
		assertNoBindings(t, oc)
	})
	t.Run("binding that never binds is removed", func(t *testing.T) {
		// An export that exists but offers a schema that does not: kcp never binds it.
		const other = "root:orgs:e2e-order:broken"
		oc, _ := account(t, other)
		pc, err := kcp.NewClient(admin, logicalcluster.NewPath(provider.WorkspacePath))
		if err != nil {
			t.Fatal(err)
		}
		broken := &apisv1alpha2.APIExport{
			ObjectMeta: metav1.ObjectMeta{Name: "e2e-broken"},
			Spec: apisv1alpha2.APIExportSpec{Resources: []apisv1alpha2.ResourceSchema{{
				Name: "widgets", Group: "example.com", Schema: "v1.widgets.example.com",
				Storage: apisv1alpha2.ResourceSchemaStorage{CRD: &apisv1alpha2.ResourceSchemaStorageCRD{}},
			}}},
		}
		if err := pc.Create(t.Context(), broken); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		_, err = order.Order(t.Context(), admin, order.Options{
			Workspace: logicalcluster.NewPath(other), ExportName: "e2e-broken", Timeout: 5 * time.Second,
		})
		if !errors.Is(err, order.ErrNotBound) {
			t.Fatalf("got %v, want ErrNotBound", err)
		}
		assertNoBindings(t, oc)
	})
}

func assertNoBindings(t *testing.T, c client.Client) {
	t.Helper()
	eventually(t, 10*time.Second, "no APIBinding left", func(ctx context.Context) error {
		list := &apisv1alpha2.APIBindingList{}
		if err := c.List(ctx, list); err != nil {
			return err
		}
		for _, b := range list.Items {
			if b.Spec.Reference.Export != nil && b.Spec.Reference.Export.Path == provider.WorkspacePath {
				return fmt.Errorf("binding %s is left behind", b.Name)
			}
		}
		return nil
	})
}

func contains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

// TestControllersRunTheConfiguredWorkers: every controller runs as many reconciles at
// once as the operator is configured for (--concurrent-workers), not one.
// multicluster-runtime's builder ignores the manager-wide setting, so each controller
// has to pass it; this failed while they did not.
func TestControllersRunTheConfiguredWorkers(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"certificates", "certificaterequests", "issuers", "clusterissuers", "onboarding"} {
		got := metricValue(t, "controller_runtime_max_concurrent_reconciles", map[string]string{"controller": name})
		if got != float64(sharedWorkers) {
			t.Errorf("controller %s runs %v reconciles at once, want %d", name, got, sharedWorkers)
		}
	}
}
