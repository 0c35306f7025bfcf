package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestExternalIssuerFailureAndBackoff plays an external issuer (a group other than
// cert-manager.io, which the operator neither approves nor signs for). It fails the first
// request: the Certificate records the failure and backs off. cmctl renew then starts a
// new attempt with a new request, which the test signs: the Certificate becomes Ready.
func TestExternalIssuerFailureAndBackoff(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-failure:team"
	c, _ := orderedAccount(t, path)
	crt := newCertificate("default", "ext", cmmeta.IssuerReference{Name: "hsm", Kind: "HSMIssuer", Group: "hsm.example.com"}, cmapi.ECDSAKeyAlgorithm, 256)
	create(t, c, crt)

	first := answerRequest(t, c, "ext-1", func(cr *cmapi.CertificateRequest) {
		cr.Status.FailureTime = ptr.To(metav1.Now())
		cmapiutil.SetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady, cmmeta.ConditionFalse,
			cmapi.CertificateRequestReasonFailed, "the HSM is on fire")
	})
	eventually(t, issueTimeout, "failure recorded", func(ctx context.Context) error {
		got := &cmapi.Certificate{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(crt), got); err != nil {
			return err
		}
		issuing := cmapiutil.GetCertificateCondition(got, cmapi.CertificateConditionIssuing)
		if issuing == nil || issuing.Status != cmmeta.ConditionFalse || issuing.Reason != "Failed" ||
			issuing.Message != "The certificate request has failed to complete and will be retried: the HSM is on fire" ||
			got.Status.LastFailureTime == nil || ptr.Deref(got.Status.FailedIssuanceAttempts, 0) != 1 {
			return fmt.Errorf("Issuing %+v, lastFailureTime %v, attempts %v", issuing, got.Status.LastFailureTime, got.Status.FailedIssuanceAttempts)
		}
		return nil
	})
	time.Sleep(3 * time.Second) // the trigger must now back off for an hour, not retry
	got := &cmapi.Certificate{}
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(crt), got); err != nil {
		t.Fatal(err)
	}
	if cmapiutil.CertificateHasCondition(got, issuingTrue) {
		t.Fatal("re-issued during the backoff")
	}

	renew(t, c, crt)
	second := answerRequest(t, c, "ext-1", func(cr *cmapi.CertificateRequest) {
		signAsExternalIssuer(t, cr)
	})
	if second.UID == first.UID {
		t.Error("the failed request was reused for the new attempt")
	}
	waitIssued(t, c, crt, 1)
	if got := &(cmapi.Certificate{}); c.Get(t.Context(), client.ObjectKeyFromObject(crt), got) == nil &&
		(got.Status.LastFailureTime != nil || got.Status.FailedIssuanceAttempts != nil) {
		t.Errorf("failure not cleared after success: %v %v", got.Status.LastFailureTime, got.Status.FailedIssuanceAttempts)
	}
}

var issuingTrue = cmapi.CertificateCondition{Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue}

// answerRequest waits for a new request of the given name (not yet answered), checks the
// operator left it alone (no approval for a foreign issuer), and answers it as the
// external issuer would.
func answerRequest(t *testing.T, c client.Client, name string, answer func(*cmapi.CertificateRequest)) *cmapi.CertificateRequest {
	t.Helper()
	cr := &cmapi.CertificateRequest{}
	eventually(t, issueTimeout, "answer "+name, func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, cr); err != nil {
			return err
		}
		if len(cr.Status.Conditions) > 0 {
			return fmt.Errorf("request already has conditions %+v", cr.Status.Conditions)
		}
		cmapiutil.SetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionApproved, cmmeta.ConditionTrue, "hsm.example.com", "approved by the HSM policy")
		answer(cr)
		return c.Status().Update(ctx, cr)
	})
	return cr
}

func signAsExternalIssuer(t *testing.T, cr *cmapi.CertificateRequest) {
	t.Helper()
	ca, caPEM, key := selfSignedCA(t, "HSM CA")
	tmpl, err := pki.CertificateTemplateFromCertificateRequest(cr)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := pki.SignCertificate(tmpl, ca, tmpl.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cr.Status.Certificate, cr.Status.CA = certPEM, caPEM
	cmapiutil.SetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady, cmmeta.ConditionTrue, cmapi.CertificateRequestReasonIssued, "signed by the HSM")
}
