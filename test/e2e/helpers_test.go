package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kcp-dev/logicalcluster/v3"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"

	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
	"github.com/platform-mesh/cert-manager-msp/internal/operator"
	"github.com/platform-mesh/cert-manager-msp/internal/order"
	"github.com/platform-mesh/cert-manager-msp/internal/provider"
)

// usedWorkspaces are the accounts the tests made, for the checks that run after them all.
var usedWorkspaces sync.Map

// account creates the workspace at path and returns a client scoped to it, as the
// consumer would have, and its logical cluster name.
func account(t *testing.T, path string) (client.Client, logicalcluster.Name) {
	t.Helper()
	ctx := t.Context()
	p := logicalcluster.NewPath(path)
	if err := kcp.EnsureWorkspace(ctx, admin, p, ""); err != nil {
		t.Fatal(err)
	}
	usedWorkspaces.Store(path, true)
	parentPath, name := p.Split()
	parent, err := kcp.NewClient(admin, parentPath)
	if err != nil {
		t.Fatal(err)
	}
	ws := &tenancyv1alpha1.Workspace{}
	if err := parent.Get(ctx, client.ObjectKey{Name: name}, ws); err != nil {
		t.Fatal(err)
	}
	// The consumer's client knows cert-manager's types, as kubectl does after binding.
	c, err := client.New(kcp.ForPath(admin, p), client.Options{Scheme: operator.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c, logicalcluster.Name(ws.Spec.Cluster)
}

// orderedAccount is an account that has ordered Certificate Manager.
func orderedAccount(t *testing.T, path string) (client.Client, logicalcluster.Name) {
	t.Helper()
	c, cluster := account(t, path)
	orderIn(t, path)
	return c, cluster
}

// orderIn orders Certificate Manager in the workspace at path.
func orderIn(t *testing.T, path string) order.Result {
	t.Helper()
	res, err := order.Order(t.Context(), admin, order.Options{Workspace: logicalcluster.NewPath(path)})
	if err != nil {
		t.Fatalf("ordering in %s: %v", path, err)
	}
	return res
}

// accountOfOwnProvider bootstraps a provider at providerPath and orders it in the account
// at path. The package's shared operator serves only the default provider, so a test
// can run operators of its own for this one.
func accountOfOwnProvider(t *testing.T, providerPath logicalcluster.Path, path string) client.Client {
	t.Helper()
	if err := provider.Bootstrap(t.Context(), admin, provider.BootstrapOptions{Path: providerPath}); err != nil {
		t.Fatal(err)
	}
	c, _ := account(t, path)
	if _, err := order.Order(t.Context(), admin, order.Options{Workspace: logicalcluster.NewPath(path), ExportPath: providerPath}); err != nil {
		t.Fatal(err)
	}
	return c
}

// startOperator runs the operator's manager in this test process until the test ends.
func startOperator(t *testing.T, controllers ...operator.Controller) {
	t.Helper()
	mgr, err := operator.New(providerConfig(), operator.Options{
		MetricsAddr: "0", HealthAddr: "0", Controllers: controllers,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("operator stopped with an error: %v", err)
		}
	})
}

// eventually polls cond every 200ms until it holds or timeout passes; the last error it
// returned is reported on failure.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		err := cond(ctx)
		if err != nil && ctx.Err() != nil {
			return false, nil // keep the last error that was not our own deadline
		}
		last = err
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("%s: %v (last: %v)", what, err, last)
	}
}
