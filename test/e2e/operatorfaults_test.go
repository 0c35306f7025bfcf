package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"
	tenancyv1alpha1 "github.com/kcp-dev/sdk/apis/tenancy/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
	"github.com/platform-mesh/cert-manager-msp/internal/operator"
	"github.com/platform-mesh/cert-manager-msp/internal/provider"
	"github.com/platform-mesh/cert-manager-msp/test/operatorproc"
)

// TestOperatorIdentityIsLimitedToItsRBACAndTheClaims uses the operator's own credentials
// (the user the shared operator runs as, with config/provider/rbac-operator.yaml) for
// what the operator never needs, and expects kcp to refuse each.
func TestOperatorIdentityIsLimitedToItsRBACAndTheClaims(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-identity:team"
	orderedAccount(t, path)
	opCfg, err := kcpServer.OperatorConfig()
	if err != nil {
		t.Fatal(err)
	}
	as := func(path string) client.Client {
		c, err := client.New(kcp.ForPath(opCfg, logicalcluster.NewPath(path)), client.Options{Scheme: operator.Scheme})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	forbidden := func(what string, err error) {
		t.Helper()
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: want Forbidden, got %v", what, err)
		}
	}
	ctx := t.Context()
	consumer, prov, root := as(path), as(provider.WorkspacePath), as("root")
	forbidden("reading Secrets in an account directly", consumer.List(ctx, &corev1.SecretList{}))
	forbidden("reading Certificates in an account directly", consumer.List(ctx, &cmapi.CertificateList{}))
	forbidden("reading Secrets in the provider workspace", prov.List(ctx, &corev1.SecretList{}))
	forbidden("creating a ConfigMap in the provider workspace", prov.Create(ctx,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "nope"}}))
	forbidden("changing the APIResourceSchemas", prov.DeleteAllOf(ctx, &apisv1alpha1.APIResourceSchema{}))
	// kcp lets every user see root's own workspaces; below that, nothing without access.
	forbidden("listing the accounts of an org", as("root:orgs:e2e-identity").List(ctx, &tenancyv1alpha1.WorkspaceList{}))
	forbidden("creating a workspace", root.Create(ctx, &tenancyv1alpha1.Workspace{ObjectMeta: metav1.ObjectMeta{Name: "nope"}}))

	// Through the virtual workspace it reaches the claimed Secrets, and nothing unclaimed.
	vw := rest.CopyConfig(opCfg)
	vw.Host = virtualWorkspaceURL(t) + "/clusters/*"
	vc, err := client.New(vw, client.Options{Scheme: operator.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := vc.List(ctx, &corev1.SecretList{}, client.MatchingLabels{cmapi.PartOfCertManagerControllerLabelKey: "true"}); err != nil {
		t.Errorf("listing claimed Secrets through the virtual workspace: %v", err)
	}
	if err := vc.List(ctx, &corev1.ConfigMapList{}); err == nil {
		t.Error("listed ConfigMaps, which no claim grants, through the virtual workspace")
	}
}

// virtualWorkspaceURL is the export's virtual workspace, from its endpoint slice.
func virtualWorkspaceURL(t *testing.T) string {
	t.Helper()
	c, err := kcp.NewClient(admin, logicalcluster.NewPath(provider.WorkspacePath))
	if err != nil {
		t.Fatal(err)
	}
	var url string
	eventually(t, 30*time.Second, "the endpoint slice to list a URL", func(ctx context.Context) (err error) {
		url, err = provider.VirtualWorkspaceURL(ctx, c)
		return err
	})
	return url
}

// TestKCPRestartDuringIssuance restarts kcp while the shared operator issues a burst.
// It is not parallel: it runs alone, before the parallel tests, because every test
// shares this kcp. The operator keeps its process and its credentials (a static token;
// kcp's admin token changes at every start) and finishes the burst.
func TestKCPRestartDuringIssuance(t *testing.T) {
	const path = "root:orgs:e2e-kcp-restart:team"
	c, _ := orderedAccount(t, path)
	waitIssuerReady(t, c, &cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "default"}})
	crts := burst(t, c, "restart", 40)
	eventually(t, issueTimeout, "the first Certificate of the burst", func(ctx context.Context) error {
		if issuedBy(ctx, c, crts)[instanceID] == 0 {
			return fmt.Errorf("none issued yet")
		}
		return nil
	})
	restarted := time.Now()
	if err := kcpServer.Restart(context.Background()); err != nil {
		t.Fatalf("restarting kcp: %v", err)
	}
	t.Logf("kcp restarted in %.1fs", time.Since(restarted).Seconds())
	var err error
	if admin, err = kcpServer.Config(); err != nil { // the old admin token is gone
		t.Fatal(err)
	}
	c, _ = account(t, path)
	checkIssuedOnce(t, c, crts, map[string]bool{instanceID: true})
}

// TestSIGKILLDuringBurst kills the operator with SIGKILL at random moments while it
// issues a burst, starting it again each time, as a crash-looping Pod would be.
// E2E_BURST (Certificates, 150 by default) and E2E_KILLS (3) make it heavier:
// `go tool task test:faults` runs 500 and 5.
func TestSIGKILLDuringBurst(t *testing.T) {
	t.Parallel()
	n, kills := envInt(t, "E2E_BURST", 150), envInt(t, "E2E_KILLS", 3)
	providerPath := logicalcluster.NewPath("root:providers:e2e-kill")
	c := accountOfOwnProvider(t, providerPath, "root:orgs:e2e-kill:team")
	kubeconfig := operatorKubeconfig(t, providerPath)
	op := operatorproc.Start(t, "operator-0", kubeconfig)
	ids := map[string]bool{op.InstanceID(t): true}
	waitIssuerReady(t, c, &cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "default"}})

	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("%d Certificates, %d kills, seed %d", n, kills, seed)
	crts := burst(t, c, "kill", n)
	for i := range kills {
		time.Sleep(time.Duration(200+rng.IntN(1800)) * time.Millisecond)
		before := issuedCount(t.Context(), c, crts)
		op.Kill()
		t.Logf("kill %d: %d of %d issued", i+1, before, n)
		op = operatorproc.Start(t, fmt.Sprintf("operator-%d", i+1), kubeconfig)
		ids[op.InstanceID(t)] = true
	}
	checkIssuedOnce(t, c, crts, ids)
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q is not a count", name, v)
	}
	return n
}

// burst creates n ECDSA Certificates on the ClusterIssuer "default" at once.
func burst(t *testing.T, c client.Client, prefix string, n int) []*cmapi.Certificate {
	t.Helper()
	ref := cmmeta.IssuerReference{Kind: cmapi.ClusterIssuerKind, Name: "default"}
	crts := make([]*cmapi.Certificate, n)
	for i := range crts {
		crts[i] = newCertificate("default", fmt.Sprintf("%s-%03d", prefix, i), ref, cmapi.ECDSAKeyAlgorithm, 256)
		create(t, c, crts[i])
	}
	return crts
}

func issuedCount(ctx context.Context, c client.Client, crts []*cmapi.Certificate) int {
	total := 0
	for _, n := range issuedBy(ctx, c, crts) {
		total += n
	}
	return total
}

// checkIssuedOnce is the end state every fault must reach: each Certificate Ready at
// revision 1 with one CertificateRequest (issued exactly once), its Secret's leaf
// verifying against ca.crt and written by one of ids, and no next-private-key Secret left.
func checkIssuedOnce(t *testing.T, c client.Client, crts []*cmapi.Certificate, ids map[string]bool) {
	t.Helper()
	requests := map[string]int{}
	for _, crt := range crts {
		waitIssued(t, c, crt, 1)
	}
	list := &cmapi.CertificateRequestList{}
	if err := c.List(t.Context(), list, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	for _, cr := range list.Items {
		if owner := metav1.GetControllerOf(&cr); owner != nil {
			requests[string(owner.UID)]++
		}
	}
	for _, crt := range crts {
		secret := &corev1.Secret{}
		if err := c.Get(t.Context(), client.ObjectKey{Namespace: crt.Namespace, Name: crt.Spec.SecretName}, secret); err != nil {
			t.Fatal(err)
		}
		id := secret.Annotations[controller.InstanceAnnotation]
		if !ids[id] {
			t.Errorf("%s issued by %q, not one of the operators started: %v", crt.Name, id, ids)
		}
		checkSecret(t, c, crt, id)
		if got := requests[string(crt.UID)]; got != 1 {
			t.Errorf("%s has %d CertificateRequests: issued more than once", crt.Name, got)
		}
	}
	// A next-key Secret is removed by the first reconcile whose cache shows it after the
	// issuance. After a kcp restart the operator's Secret informer may still be backing off
	// (client-go's reflector waits up to 30 s, with jitter up to 60 s, between lists), and the
	// one reconcile that issues now also creates the key, so allow for that.
	eventually(t, 2*time.Minute, "no next-private-key Secret left", func(ctx context.Context) error {
		left := &corev1.SecretList{}
		if err := c.List(ctx, left, client.InNamespace("default"), client.HasLabels{cmapi.IsNextPrivateKeySecretLabelKey}); err != nil {
			return err
		}
		if len(left.Items) > 0 {
			return fmt.Errorf("%d left, e.g. %s", len(left.Items), left.Items[0].Name)
		}
		return nil
	})
}
