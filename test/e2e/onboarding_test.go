package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestOnboarding: ordering gives a Ready ClusterIssuer "default" within seconds; a
// deleted default comes back; a consumer's own change to a default is not reverted; and
// the CA issuer reacts to its Secret.
func TestOnboarding(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-onboard:team"
	c, _ := orderedAccount(t, path)
	bound := time.Now()
	defaultIssuer := &cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	waitIssuerReady(t, c, defaultIssuer)
	t.Logf("default ClusterIssuer Ready %v after the binding was Bound", time.Since(bound).Round(time.Millisecond))

	ca := &cmapi.Certificate{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: "cert-manager", Name: "default-ca"}, ca); err != nil {
		t.Fatal(err)
	}
	if !ca.Spec.IsCA || ca.Spec.IssuerRef.Name != "selfsigned" || ca.Spec.PrivateKey.RotationPolicy != cmapi.RotationPolicyNever {
		t.Errorf("default-ca spec %+v", ca.Spec)
	}

	t.Run("a new account sees no transient failures, and cert-manager's event sources", func(t *testing.T) {
		// The root's request is approved and signed inside the Certificate's reconcile;
		// its events still name the request controller, as cert-manager's do. Events are
		// sent asynchronously, so wait for those of the root's issuance, the last step.
		wantSource := map[string]string{"Requested": "cert-manager-certificates",
			"cert-manager.io": "cert-manager-certificaterequests", "CertificateIssued": "cert-manager-certificaterequests"}
		events := &corev1.EventList{}
		eventually(t, 30*time.Second, "the root CA's issuance events", func(ctx context.Context) error {
			if err := c.List(ctx, events); err != nil {
				return err
			}
			missing := maps.Clone(wantSource)
			for _, e := range events.Items {
				delete(missing, e.Reason)
			}
			if len(missing) > 0 {
				return fmt.Errorf("no %v events yet", slices.Sorted(maps.Keys(missing)))
			}
			return nil
		})
		// Each default is made once the one it builds on is Ready, so onboarding records no
		// warnings and no request waiting for an issuer.
		for _, e := range events.Items {
			if e.Type == corev1.EventTypeWarning || e.Reason == "IssuerNotReady" || e.Reason == "IssuerNotFound" {
				t.Errorf("event on %s %s: %s %s: %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Type, e.Reason, e.Message)
			}
			if want, ok := wantSource[e.Reason]; ok && e.Source.Component != want {
				t.Errorf("%s event on %s %s from %q, want %q", e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Source.Component, want)
			}
		}
	})

	t.Run("a deleted default comes back", func(t *testing.T) {
		old := defaultIssuer.UID
		if err := c.Delete(t.Context(), &cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "default"}}); err != nil {
			t.Fatal(err)
		}
		eventually(t, issueTimeout, "default re-created", func(ctx context.Context) error {
			got := &cmapi.ClusterIssuer{}
			if err := c.Get(ctx, client.ObjectKey{Name: "default"}, got); err != nil {
				return err
			}
			if got.UID == old || !cmapiutil.IssuerHasCondition(got, readyIssuer) {
				return fmt.Errorf("not re-created and Ready yet")
			}
			return nil
		})
	})

	t.Run("a consumer's change is not fought over", func(t *testing.T) {
		eventually(t, 30*time.Second, "change default", func(ctx context.Context) error {
			got := &cmapi.ClusterIssuer{}
			if err := c.Get(ctx, client.ObjectKey{Name: "default"}, got); err != nil {
				return err
			}
			got.Spec.CA.CRLDistributionPoints = []string{"http://crl.acme.example/ca.crl"}
			got.Labels = map[string]string{"owner": "platform-team"}
			return c.Update(ctx, got)
		})
		time.Sleep(3 * time.Second) // give the operator every chance to revert it
		got := &cmapi.ClusterIssuer{}
		if err := c.Get(t.Context(), client.ObjectKey{Name: "default"}, got); err != nil {
			t.Fatal(err)
		}
		if len(got.Spec.CA.CRLDistributionPoints) != 1 || got.Labels["owner"] != "platform-team" {
			t.Errorf("the consumer's change was reverted: %+v %v", got.Spec.CA, got.Labels)
		}
	})

	t.Run("the CA issuer follows its Secret", func(t *testing.T) {
		if err := c.Delete(t.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "cert-manager", Name: "default-ca"}}); err != nil {
			t.Fatal(err)
		}
		// The root is re-issued (a missing Secret triggers issuance) and the issuer,
		// which watches it, is Ready again with a verified key pair.
		waitIssued(t, c, ca, 2)
		eventually(t, issueTimeout, "default Ready on the new root", func(ctx context.Context) error {
			got := &cmapi.ClusterIssuer{}
			if err := c.Get(ctx, client.ObjectKey{Name: "default"}, got); err != nil {
				return err
			}
			cond := readyCondition(got)
			if cond == nil || cond.Status != cmmeta.ConditionTrue || cond.Reason != "KeyPairVerified" {
				return fmt.Errorf("Ready %+v", cond)
			}
			return nil
		})
	})
}

var readyIssuer = cmapi.IssuerCondition{Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionTrue}

func readyCondition(i cmapi.GenericIssuer) *cmapi.IssuerCondition {
	for _, c := range i.GetStatus().Conditions {
		if c.Type == cmapi.IssuerConditionReady {
			return &c
		}
	}
	return nil
}

// TestUnsupportedIssuers: ACME, Vault and Venafi issuers are not Ready, with a reason
// that says so, and a Certificate that uses one waits without anything being issued.
func TestUnsupportedIssuers(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-unsupported:team"
	c, _ := orderedAccount(t, path)
	issuers := map[string]cmapi.IssuerConfig{
		"acme": {ACME: &cmacme.ACMEIssuer{Server: "https://acme.example/directory",
			PrivateKey: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "acme-key"}}}},
		"vault":  {Vault: &cmapi.VaultIssuer{Server: "https://vault.example", Path: "pki_int/sign/web", Auth: cmapi.VaultAuth{TokenSecretRef: &cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "t"}, Key: "token"}}}},
		"venafi": {Venafi: &cmapi.VenafiIssuer{Zone: "z", Cloud: &cmapi.VenafiCloud{APITokenSecretRef: cmmeta.SecretKeySelector{LocalObjectReference: cmmeta.LocalObjectReference{Name: "t"}, Key: "k"}}}},
	}
	for name, config := range issuers {
		create(t, c, &cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: cmapi.IssuerSpec{IssuerConfig: config}})
	}
	for name := range issuers {
		eventually(t, issueTimeout, name+" issuer condition", func(ctx context.Context) error {
			got := &cmapi.Issuer{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, got); err != nil {
				return err
			}
			cond := readyCondition(got)
			if cond == nil || cond.Status != cmmeta.ConditionFalse || cond.Reason != "UnsupportedIssuerType" ||
				!strings.Contains(cond.Message, fmt.Sprintf("%q is not supported", name)) {
				return fmt.Errorf("Ready %+v", cond)
			}
			return nil
		})
	}
	crt := newCertificate("default", "via-acme", cmmeta.IssuerReference{Name: "acme", Kind: "Issuer"}, cmapi.ECDSAKeyAlgorithm, 256)
	create(t, c, crt)
	eventually(t, issueTimeout, "request waits for the issuer", func(ctx context.Context) error {
		cr := &cmapi.CertificateRequest{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "via-acme-1"}, cr); err != nil {
			return err
		}
		cond := cmapiutil.GetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady)
		if cond == nil || cond.Reason != cmapi.CertificateRequestReasonPending || cond.Message != "Referenced issuer does not have a Ready status condition" {
			return fmt.Errorf("Ready %+v", cond)
		}
		return nil
	})
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "via-acme-tls"}, &corev1.Secret{}); err == nil {
		t.Error("a Secret was issued through an unsupported issuer")
	}
}
