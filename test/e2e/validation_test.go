package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestInvalidSpecIsRefusedThenIssuedWhenFixed: a spec cert-manager's webhook would reject
// (here a 30m duration) is not issued; Issuing=False names the field. Fixing it issues at
// once, without the backoff of a failed issuance.
func TestInvalidSpecIsRefusedThenIssuedWhenFixed(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-invalid:team"
	c, _ := account(t, path)
	orderIn(t, path)
	crt := newCertificate("default", "short", cmmeta.IssuerReference{Name: "default", Kind: "ClusterIssuer"}, cmapi.ECDSAKeyAlgorithm, 256)
	crt.Spec.Duration = &metav1.Duration{Duration: 30 * time.Minute}
	create(t, c, crt)
	eventually(t, issueTimeout, "InvalidSpec", func(ctx context.Context) error {
		got := &cmapi.Certificate{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(crt), got); err != nil {
			return err
		}
		cond := cmapiutil.GetCertificateCondition(got, cmapi.CertificateConditionIssuing)
		if cond == nil || cond.Status != cmmeta.ConditionFalse || cond.Reason != "InvalidSpec" || !strings.HasPrefix(cond.Message, "spec.duration:") {
			return fmt.Errorf("Issuing %+v", cond)
		}
		return nil
	})
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "short-1"}, &cmapi.CertificateRequest{}); err == nil {
		t.Error("a request was made for an invalid spec")
	}
	update(t, c, crt, func(crt *cmapi.Certificate) { crt.Spec.Duration = &metav1.Duration{Duration: 2 * time.Hour} })
	waitIssued(t, c, crt, 1)
}
