package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/multicluster-runtime/pkg/multicluster"
)

// TestOperatorCachesOnlyItsSecrets: a tenant's own Secrets do not enter the operator's
// cache (only fao-labelled ones do), so they cannot grow its memory.
func TestOperatorCachesOnlyItsSecrets(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-cache:team"
	c, cluster := orderedAccount(t, path)
	create(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "tenant-own"},
		StringData: map[string]string{"password": "hunter2"}})
	waitIssuerReady(t, c, &cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "default"}})

	var cached *corev1.SecretList
	eventually(t, issueTimeout, "the operator caches the default CA Secret", func(ctx context.Context) error {
		cl, err := sharedMgr.GetCluster(ctx, multicluster.ClusterName(cluster))
		if err != nil {
			return err
		}
		cached = &corev1.SecretList{}
		if err := cl.GetClient().List(ctx, cached); err != nil {
			return err
		}
		for _, s := range cached.Items {
			if s.Name == "default-ca" {
				return nil
			}
		}
		return fmt.Errorf("default-ca not in the cache yet (%d Secrets)", len(cached.Items))
	})
	for _, s := range cached.Items {
		if s.Labels[cmapi.PartOfCertManagerControllerLabelKey] != "true" {
			t.Errorf("the operator cached Secret %s/%s, which is not its own", s.Namespace, s.Name)
		}
	}
}

// TestTwoCertificatesOneSecret: only the older of two Certificates naming the same Secret
// is issued; the other waits and never overwrites it.
func TestTwoCertificatesOneSecret(t *testing.T) {
	t.Parallel()
	const path = "root:orgs:e2e-duplicate:team"
	c, _ := orderedAccount(t, path)
	ref := cmmeta.IssuerReference{Name: "default", Kind: "ClusterIssuer"}
	first := newCertificate("default", "first", ref, cmapi.ECDSAKeyAlgorithm, 256)
	first.Spec.SecretName = "shared-tls"
	waitIssued(t, c, first, 1)
	second := newCertificate("default", "second", ref, cmapi.ECDSAKeyAlgorithm, 256)
	second.Spec.SecretName = "shared-tls"
	create(t, c, second)
	time.Sleep(3 * time.Second)
	s := &corev1.Secret{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "shared-tls"}, s); err != nil {
		t.Fatal(err)
	}
	if s.Annotations[cmapi.CertificateNameKey] != "first" {
		t.Errorf("the Secret was taken over by %q", s.Annotations[cmapi.CertificateNameKey])
	}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "second-1"}, &cmapi.CertificateRequest{}); !apierrors.IsNotFound(err) {
		t.Errorf("the second Certificate was issued: %v", err)
	}
}
