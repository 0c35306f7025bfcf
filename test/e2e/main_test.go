// Package e2e tests the provider against a real kcp server started by the harness. One
// server serves the whole package; each test works in workspaces of its own under
// root:orgs, so tests run in parallel.
package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kcp-dev/logicalcluster/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"k8s.io/utils/clock"
	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
	"github.com/platform-mesh/cert-manager-msp/internal/operator"
	"github.com/platform-mesh/cert-manager-msp/internal/provider"
	"github.com/platform-mesh/cert-manager-msp/internal/signer"
	"github.com/platform-mesh/cert-manager-msp/test/kcpserver"
)

// admin holds kcp's admin credentials; scope them with kcp.ForPath.
var admin *rest.Config

// kcpServer is the package's kcp; tests that run operator processes read its kubeconfig.
var kcpServer *kcpserver.Server

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "cert-manager-msp-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The operator's log goes next to kcp's, kept when a test fails.
	logFile, err := os.Create(filepath.Join(dir, "operator.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer logFile.Close()
	ctrl.SetLogger(zap.New(zap.WriteTo(logFile), zap.UseDevMode(true)))

	ctx := context.Background()
	server, err := kcpserver.Start(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting kcp:", err)
		return 1
	}
	defer server.Stop()
	kcpServer = server
	if admin, err = server.Config(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// As the local setup does: with the stand-in UI API, so the portal objects are applied.
	if err := provider.Bootstrap(ctx, admin, provider.BootstrapOptions{PortalStandIn: true}); err != nil {
		fmt.Fprintln(os.Stderr, "bootstrapping the provider:", err)
		return 1
	}
	// The operator runs as a user with only the operator's RBAC, not as kcp admin: every
	// test then also shows that the documented RBAC suffices. Its static token survives
	// a kcp restart.
	if err := bindOperatorUser(ctx, logicalcluster.NewPath(provider.WorkspacePath)); err != nil {
		fmt.Fprintln(os.Stderr, "binding the operator's RBAC:", err)
		return 1
	}
	stop, err := startSharedOperator()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the operator:", err)
		return 1
	}
	code := m.Run()
	stop()
	if code == 0 {
		code = checkNoPrivateKeys(filepath.Join(dir, "operator.log"))
	}
	if code == 0 {
		_ = os.RemoveAll(dir)
	} else {
		fmt.Fprintln(os.Stderr, "kcp state and log kept in", dir)
	}
	return code
}

// checkNoPrivateKeys fails the run if the operator logged, or recorded in an event of any
// workspace the tests used, anything that looks like a private key (PEM, or PEM in
// base64), after every test has made it issue keys of every kind.
func checkNoPrivateKeys(logPath string) int {
	raw, err := os.ReadFile(logPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if looksLikeKey(string(raw)) {
		fmt.Fprintln(os.Stderr, "the operator logged a private key:", logPath)
		return 1
	}
	code, checked := 0, 0
	usedWorkspaces.Range(func(path, _ any) bool {
		c, err := kcp.NewClient(admin, logicalcluster.NewPath(path.(string)))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
			return false
		}
		events := &corev1.EventList{}
		if err := c.List(context.Background(), events); err != nil {
			fmt.Fprintln(os.Stderr, "listing events in", path, err)
			code = 1
			return false
		}
		for _, e := range events.Items {
			checked++
			if looksLikeKey(e.Message) || looksLikeKey(e.Reason) {
				fmt.Fprintf(os.Stderr, "event %s in %s holds a private key\n", e.Name, path)
				code = 1
			}
		}
		return true
	})
	if checked == 0 {
		fmt.Fprintln(os.Stderr, "no events were recorded: the private-key check of events checked nothing")
		return 1
	}
	return code
}

func looksLikeKey(s string) bool {
	return strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, base64.StdEncoding.EncodeToString([]byte("-----BEGIN")))
}

// sharedMgr is the shared operator's manager, for tests that look at its caches.
var sharedMgr mcmanager.Manager

// instanceID is the shared operator's; every Secret it issues carries it.
const instanceID = "e2e-operator"

// sharedWorkers is the binary's default --concurrent-workers: the tests run with
// reconciles in parallel, as production does.
const sharedWorkers = controller.DefaultWorkers

// startSharedOperator runs one operator with the real controllers for the whole package,
// as production runs one for all workspaces. Tests must not start a second one that also
// issues: both would serve every bound workspace.
func startSharedOperator() (stop func(), err error) {
	opts := controller.Options{
		ClusterResourceNamespace: "cert-manager",
		Signers:                  signer.Default(),
		ApproveRequests:          true,
		InstanceID:               instanceID,
		Clock:                    clock.RealClock{},
		Workers:                  sharedWorkers,
	}
	mgr, err := operator.New(providerConfig(), operator.Options{
		MetricsAddr: "0", HealthAddr: "0", Controllers: operator.Controllers(opts, true),
	})
	if err != nil {
		return nil, err
	}
	sharedMgr = mgr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "operator stopped with an error:", err)
		}
	}, nil
}

// providerConfig is what the operator is given: the operator user's credentials, scoped
// to the provider workspace.
func providerConfig() *rest.Config {
	cfg, err := kcpServer.OperatorConfig()
	if err != nil {
		panic(err) // only after TestMain has started kcp
	}
	return kcp.ForPath(cfg, logicalcluster.NewPath(provider.WorkspacePath))
}

// bindOperatorUser grants the harness's operator user the operator's ClusterRole (from
// config/provider, applied by bootstrap) in the provider workspace at path.
func bindOperatorUser(ctx context.Context, path logicalcluster.Path) error {
	return provider.BindOperator(ctx, admin, path, kcpserver.OperatorUser)
}

// operatorKubeconfig writes a kubeconfig for the operator user at the provider
// workspace at path, as Platform Mesh hands one to a provider's operator.
func operatorKubeconfig(t *testing.T, path logicalcluster.Path) string {
	t.Helper()
	if err := bindOperatorUser(t.Context(), path); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "operator.kubeconfig")
	if err := kcpServer.WriteOperatorKubeconfig(path.String(), out); err != nil {
		t.Fatal(err)
	}
	return out
}
