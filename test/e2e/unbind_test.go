package e2e

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	apisv1alpha2 "github.com/kcp-dev/sdk/apis/apis/v1alpha2"
)

// TestUnbindKeepsSecretsAndRebindServesAgain: when an account deletes its binding, kcp
// removes its cert-manager.io objects, but its TLS Secrets stay (they are the account's
// own) and the operator writes nothing more there. Ordering again serves the account
// afresh, on the same root, whose Secret outlived the binding.
func TestUnbindKeepsSecretsAndRebindServesAgain(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-unbind:team"
	c, _ := account(t, path)
	res := orderIn(t, path)
	crt := newCertificate("default", "kept", cmmeta.IssuerReference{Name: "default", Kind: "ClusterIssuer"}, cmapi.ECDSAKeyAlgorithm, 256)
	waitIssued(t, c, crt, 1)
	before := &corev1.Secret{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "kept-tls"}, before); err != nil {
		t.Fatal(err)
	}

	binding := &apisv1alpha2.APIBinding{}
	binding.Name = res.BindingName
	if err := c.Delete(t.Context(), binding); err != nil {
		t.Fatal(err)
	}
	eventually(t, issueTimeout, "binding gone", func(ctx context.Context) error {
		err := c.Get(ctx, client.ObjectKey{Name: res.BindingName}, &apisv1alpha2.APIBinding{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still there: %v", err)
	})
	time.Sleep(3 * time.Second)
	after := &corev1.Secret{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "kept-tls"}, after); err != nil {
		t.Fatalf("the TLS Secret is gone after unbinding: %v", err)
	}
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("the operator wrote the Secret after the account unbound")
	}
	// The bound objects go with the binding (the API is gone from the workspace).
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(crt), &cmapi.Certificate{}); err == nil {
		t.Error("the Certificate is still served after unbinding")
	}

	orderIn(t, path)
	fresh := newCertificate("default", "fresh", cmmeta.IssuerReference{Name: "default", Kind: "ClusterIssuer"}, cmapi.ECDSAKeyAlgorithm, 256)
	waitIssued(t, c, fresh, 1)
	checkSecret(t, c, fresh, instanceID)
	// The root's Secret outlived the binding, so onboarding adopts it: certificates from
	// before and after share one root of trust.
	now := &corev1.Secret{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "fresh-tls"}, now); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(now.Data["ca.crt"], before.Data["ca.crt"]) {
		t.Error("rebinding made a new root; the account's existing certificates no longer chain to its ClusterIssuer")
	}
}
