package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/kcp-dev/logicalcluster/v3"
	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/platform-mesh/cert-manager-msp/internal/controller/certificates"
	"github.com/platform-mesh/cert-manager-msp/internal/order"
	"github.com/platform-mesh/cert-manager-msp/internal/provider"
)

// TestBindingThatRejectsTheSecretsClaim: an account binds the export but rejects the
// secrets claim. kcp accepts that binding; the operator then cannot write TLS Secrets
// there. The consumer sees why on each Certificate, and nothing is half-written.
func TestBindingThatRejectsTheSecretsClaim(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-claims:team"
	c, _ := account(t, path)
	b := order.NewBinding(logicalcluster.NewPath(provider.WorkspacePath), provider.ExportName, nil)
	for i := range b.Spec.PermissionClaims {
		if b.Spec.PermissionClaims[i].Resource == "secrets" {
			b.Spec.PermissionClaims[i].State = apisv1alpha2.ClaimRejected
		}
	}
	create(t, c, b)
	eventually(t, time.Minute, "the binding to be Bound", func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
			return err
		}
		if b.Status.Phase != apisv1alpha2.APIBindingPhaseBound {
			return fmt.Errorf("phase %q", b.Status.Phase)
		}
		return nil
	})
	issuer := &cmapi.Issuer{}
	issuer.Namespace, issuer.Name = "default", "selfsigned"
	issuer.Spec.SelfSigned = &cmapi.SelfSignedIssuer{}
	create(t, c, issuer)
	crt := newCertificate("default", "no-secrets", cmmeta.IssuerReference{Kind: cmapi.IssuerKind, Name: "selfsigned"}, cmapi.ECDSAKeyAlgorithm, 256)
	create(t, c, crt)
	eventually(t, issueTimeout, "Ready to say the secrets claim is missing", func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(crt), crt); err != nil {
			return err
		}
		ready := cmapiutil.GetCertificateCondition(crt, cmapi.CertificateConditionReady)
		if ready == nil || ready.Status != cmmeta.ConditionFalse || ready.Reason != certificates.ReasonSecretsClaimNotAccepted {
			return fmt.Errorf("Ready %+v", ready)
		}
		return nil
	})
	if cmapiutil.CertificateHasCondition(crt, cmapi.CertificateCondition{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue}) {
		t.Error("the Certificate is Issuing although no Secret can be written")
	}
	requests := &cmapi.CertificateRequestList{}
	if err := c.List(t.Context(), requests, client.InNamespace("default")); err != nil || len(requests.Items) > 0 {
		t.Errorf("CertificateRequests were made (%v, %d): nothing should start without the claim", err, len(requests.Items))
	}

	// Accepting the claim is all it takes.
	eventually(t, 30*time.Second, "accepting the secrets claim", func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil {
			return err
		}
		for i := range b.Spec.PermissionClaims {
			b.Spec.PermissionClaims[i].State = apisv1alpha2.ClaimAccepted
		}
		return c.Update(ctx, b)
	})
	waitIssued(t, c, crt, 1)
	checkSecret(t, c, crt, instanceID)
}
