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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/platform-mesh/cert-manager-msp/internal/controller/certificaterequests"
	"github.com/platform-mesh/cert-manager-msp/internal/issuance"
)

// TestConsumerTampering: a consumer who corrupts tls.key, or swaps in a certificate that
// does not belong to the key, gets a freshly issued Secret.
func TestConsumerTampering(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-tamper:team"
	c, _ := orderedAccount(t, path)
	ref := cmmeta.IssuerReference{Name: "default", Kind: "ClusterIssuer"}
	crt := newCertificate("default", "victim", ref, cmapi.ECDSAKeyAlgorithm, 256)
	other := newCertificate("default", "other", ref, cmapi.ECDSAKeyAlgorithm, 256)
	waitIssued(t, c, crt, 1)
	waitIssued(t, c, other, 1)

	tamper := func(mutate func(*corev1.Secret)) {
		eventually(t, 30*time.Second, "tamper", func(ctx context.Context) error {
			s := &corev1.Secret{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "victim-tls"}, s); err != nil {
				return err
			}
			mutate(s)
			return c.Update(ctx, s)
		})
	}
	tamper(func(s *corev1.Secret) { s.Data[corev1.TLSPrivateKeyKey] = []byte("garbage") })
	waitIssued(t, c, crt, 2)
	checkSecret(t, c, crt, instanceID)

	otherSecret := &corev1.Secret{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "other-tls"}, otherSecret); err != nil {
		t.Fatal(err)
	}
	tamper(func(s *corev1.Secret) { s.Data[corev1.TLSCertKey] = otherSecret.Data[corev1.TLSCertKey] })
	waitIssued(t, c, crt, 3)
	checkSecret(t, c, crt, instanceID)
}

// TestRequestDeletedMidFlight: a CertificateRequest deleted while it waits for its issuer
// is made again, and the Certificate is issued once the issuer exists.
func TestRequestDeletedMidFlight(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-midflight:team"
	c, _ := orderedAccount(t, path)
	crt := newCertificate("default", "late", cmmeta.IssuerReference{Name: "later", Kind: "Issuer"}, cmapi.ECDSAKeyAlgorithm, 256)
	create(t, c, crt)
	first := &cmapi.CertificateRequest{}
	eventually(t, issueTimeout, "first request", func(ctx context.Context) error {
		return c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "late-1"}, first)
	})
	if err := c.Delete(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	eventually(t, issueTimeout, "request made again", func(ctx context.Context) error {
		cr := &cmapi.CertificateRequest{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "late-1"}, cr); err != nil {
			return err
		}
		if cr.UID == first.UID {
			return fmt.Errorf("still the deleted request")
		}
		return nil
	})
	create(t, c, &cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "later"},
		Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}}})
	waitIssued(t, c, crt, 1)
	checkSecret(t, c, crt, instanceID)
}

// TestRequestLeftUnsettledIsSettledAfterTheGrace: the Certificate controller approves and
// signs the requests it creates itself. A request of a Certificate left unsettled (the
// operator stopped between creating and signing it) is left alone for InlineGrace, then
// the request controller approves and signs it.
func TestRequestLeftUnsettledIsSettledAfterTheGrace(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-unsettled:team"
	c, _ := orderedAccount(t, path)
	waitIssuerReady(t, c, &cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "default"}})
	// A Certificate whose own issuance waits for an issuer that does not exist, so that
	// its controller leaves the request below (not of its next revision) alone.
	crt := newCertificate("default", "waiting", cmmeta.IssuerReference{Name: "missing", Kind: "Issuer"}, cmapi.ECDSAKeyAlgorithm, 256)
	create(t, c, crt)
	key, err := pki.GenerateECPrivateKey(256)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := issuance.NewRequest(crt, key, 7, "unused")
	if err != nil {
		t.Fatal(err)
	}
	cr.Spec.IssuerRef = cmmeta.IssuerReference{Name: "default", Kind: cmapi.ClusterIssuerKind}
	create(t, c, cr)
	created := time.Now()

	time.Sleep(time.Second)
	got := &cmapi.CertificateRequest{}
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(cr), got); err != nil {
		t.Fatal(err)
	}
	// creationTimestamp has whole seconds, so the grace left is at least InlineGrace - 1s.
	if age := time.Since(created); age < certificaterequests.InlineGrace-time.Second && len(got.Status.Conditions) > 0 {
		t.Errorf("settled %v after creation, within the grace left to the Certificate controller: %v", age, got.Status.Conditions)
	}
	eventually(t, issueTimeout, "the request approved and signed", func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(cr), got); err != nil {
			return err
		}
		if !cmapiutil.CertificateRequestIsApproved(got) || cmapiutil.CertificateRequestReadyReason(got) != cmapi.CertificateRequestReasonIssued {
			return fmt.Errorf("conditions %v", got.Status.Conditions)
		}
		return nil
	})
	if age := time.Since(created); age < certificaterequests.InlineGrace-time.Second {
		t.Errorf("signed %v after creation, within the grace", age)
	}
	leaf, err := pki.DecodeX509CertificateBytes(got.Status.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := pki.PublicKeyMatchesCertificate(key.Public(), leaf); err != nil || !ok {
		t.Errorf("the signed certificate is not for the request's key (%v)", err)
	}
}
