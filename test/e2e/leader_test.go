package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/kcp-dev/logicalcluster/v3"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
	"github.com/platform-mesh/cert-manager-msp/test/operatorproc"
)

// TestLeaderElectionHandsOverWithoutReissuing runs two replicas of the real operator
// binary, as the chart does, against a provider of their own. One leads and issues; it
// is killed with SIGKILL in the middle of a burst; the other takes the Lease in the
// provider workspace over and finishes. Every Certificate is issued exactly once.
func TestLeaderElectionHandsOverWithoutReissuing(t *testing.T) {
	t.Parallel()
	providerPath := logicalcluster.NewPath("root:providers:e2e-leader")
	c := accountOfOwnProvider(t, providerPath, "root:orgs:e2e-leader:team")
	flags := []string{"--leader-elect", "--leader-election-lease-duration=4s",
		"--leader-election-renew-deadline=3s", "--leader-election-retry-period=500ms"}
	kubeconfig := operatorKubeconfig(t, providerPath)
	a := operatorproc.Start(t, "replica-a", kubeconfig, flags...)
	b := operatorproc.Start(t, "replica-b", kubeconfig, flags...)
	var leader, standby *operatorproc.Process
	eventually(t, 60*time.Second, "one replica to lead", func(context.Context) error {
		switch {
		case a.Leads() && b.Leads():
			return fmt.Errorf("both replicas lead")
		case a.Leads():
			leader, standby = a, b
		case b.Leads():
			leader, standby = b, a
		default:
			return fmt.Errorf("no leader yet")
		}
		return nil
	})
	leaderID, standbyID := leader.InstanceID(t), standby.InstanceID(t)
	checkLease(t, providerPath)

	issuer := &cmapi.ClusterIssuer{}
	eventually(t, issueTimeout, "the leader onboards the account", func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKey{Name: "default"}, issuer); err != nil {
			return err
		}
		if r := readyCondition(issuer); r == nil || r.Status != cmmeta.ConditionTrue {
			return fmt.Errorf("ClusterIssuer default not Ready: %+v", r)
		}
		return nil
	})

	// RSA-4096 keys take long enough that the burst is still under way at the kill.
	const n = 12
	ref := cmmeta.IssuerReference{Kind: cmapi.ClusterIssuerKind, Name: "default"}
	var crts []*cmapi.Certificate
	for i := range n {
		crt := newCertificate("default", fmt.Sprintf("burst-%02d", i), ref, cmapi.RSAKeyAlgorithm, 4096)
		create(t, c, crt)
		crts = append(crts, crt)
	}
	eventually(t, issueTimeout, "the leader to issue the first Certificate", func(ctx context.Context) error {
		if issuedBy(ctx, c, crts)[leaderID] == 0 {
			return fmt.Errorf("nothing issued yet")
		}
		return nil
	})
	killed := time.Now()
	leader.Kill()

	eventually(t, 30*time.Second, "the standby to take the Lease over", func(context.Context) error {
		if !standby.Leads() {
			return fmt.Errorf("standby has not acquired the lease")
		}
		return nil
	})
	t.Logf("standby leads %.1fs after the leader was killed", time.Since(killed).Seconds())

	for _, crt := range crts {
		waitIssued(t, c, crt, 1)
		secret := &corev1.Secret{}
		if err := c.Get(t.Context(), client.ObjectKey{Namespace: crt.Namespace, Name: crt.Spec.SecretName}, secret); err != nil {
			t.Fatal(err)
		}
		id := secret.Annotations[controller.InstanceAnnotation]
		if id != leaderID && id != standbyID {
			t.Errorf("%s issued by %q, neither replica", crt.Name, id)
		}
		checkSecret(t, c, crt, id)
		requests := &cmapi.CertificateRequestList{}
		if err := c.List(t.Context(), requests, client.InNamespace(crt.Namespace)); err != nil {
			t.Fatal(err)
		}
		var mine int
		for _, cr := range requests.Items {
			if metav1.IsControlledBy(&cr, crt) {
				mine++
			}
		}
		if mine != 1 || ptr.Deref(crt.Status.Revision, 0) != 1 {
			t.Errorf("%s: %d CertificateRequests, revision %d: issued more than once", crt.Name, mine, ptr.Deref(crt.Status.Revision, 0))
		}
	}
	by := issuedBy(t.Context(), c, crts)
	t.Logf("Secrets issued by the killed leader: %d, by the new leader: %d", by[leaderID], by[standbyID])
	if by[standbyID] == 0 {
		t.Errorf("the new leader issued nothing (%v): the burst was over before the kill, so nothing was handed over", by)
	}
}

// issuedBy counts the Secrets of crts by the operator instance that issued them.
func issuedBy(ctx context.Context, c client.Client, crts []*cmapi.Certificate) map[string]int {
	counts := map[string]int{}
	for _, crt := range crts {
		s := &corev1.Secret{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: crt.Namespace, Name: crt.Spec.SecretName}, s); err == nil {
			if id := s.Annotations[controller.InstanceAnnotation]; id != "" && len(s.Data[corev1.TLSCertKey]) > 0 {
				counts[id]++
			}
		}
	}
	return counts
}

// checkLease: the Lease is in the provider workspace, where both replicas reach it.
func checkLease(t *testing.T, providerPath logicalcluster.Path) {
	t.Helper()
	pc, err := kcp.NewClient(admin, providerPath)
	if err != nil {
		t.Fatal(err)
	}
	lease := &coordinationv1.Lease{}
	if err := pc.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "cert-manager-msp"}, lease); err != nil {
		t.Fatalf("no Lease default/cert-manager-msp in %s: %v", providerPath, err)
	}
	if ptr.Deref(lease.Spec.HolderIdentity, "") == "" {
		t.Errorf("Lease has no holder: %+v", lease.Spec)
	}
}
