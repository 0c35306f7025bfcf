package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
