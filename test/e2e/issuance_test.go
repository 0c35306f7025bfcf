package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	"github.com/kcp-dev/logicalcluster/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
)

const issueTimeout = 90 * time.Second

// TestIssuanceInTwoWorkspaces is the heart of the product, end to end: two accounts order
// in parallel, one operator serves both, and every Certificate becomes a TLS Secret that
// verifies against its ca.crt.
func TestIssuanceInTwoWorkspaces(t *testing.T) {
	t.Parallel()
	accounts := map[string]string{
		"acme":   "root:orgs:e2e-issue-acme:web-team",
		"globex": "root:orgs:e2e-issue-globex:payments",
	}
	clients := map[string]client.Client{}
	clusters := map[string]string{}
	for name, path := range accounts {
		var cluster logicalcluster.Name
		clients[name], cluster = account(t, path)
		clusters[name] = cluster.String()
		orderIn(t, path)
	}
	instance := instanceID // one operator process serves both workspaces

	for name := range accounts {
		other := "acme"
		if name == "acme" {
			other = "globex"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := clients[name]
			waitIssuerReady(t, c, &cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: "default"}})

			t.Run("default ClusterIssuer, ECDSA", func(t *testing.T) {
				t.Parallel()
				crt := newCertificate("default", "web", cmmeta.IssuerReference{Name: "default", Kind: "ClusterIssuer", Group: "cert-manager.io"},
					cmapi.ECDSAKeyAlgorithm, 256)
				checkLifecycle(t, c, crt, instance)
				labels := map[string]string{"cluster": clusters[name], "namespace": "default", "name": "web"}
				if v := metricValue(t, "certmanager_certificate_ready_status", labels, "condition", "True"); v != 1 {
					t.Errorf("ready_status{condition=True} = %v, want 1", v)
				}
				if v := metricValue(t, "certmanager_certificate_expiration_timestamp_seconds", labels); v != float64(crt.Status.NotAfter.Unix()) {
					t.Errorf("expiration = %v, want %d", v, crt.Status.NotAfter.Unix())
				}
			})
			t.Run("SelfSigned Issuer, RSA 2048", func(t *testing.T) {
				t.Parallel()
				create(t, c, &cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "self"},
					Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}}})
				crt := newCertificate("default", "self", cmmeta.IssuerReference{Name: "self", Kind: "Issuer"}, cmapi.RSAKeyAlgorithm, 2048)
				waitIssued(t, c, crt, 1)
				checkSecret(t, c, crt, instance)
			})
			t.Run("CA Issuer with the consumer's own CA, Ed25519", func(t *testing.T) {
				t.Parallel()
				createOwnCA(t, c, "default", "own-ca")
				create(t, c, &cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "own"},
					Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: "own-ca"}}}})
				waitIssuerReady(t, c, &cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "own"}})
				crt := newCertificate("default", "own", cmmeta.IssuerReference{Name: "own", Kind: "Issuer"}, cmapi.Ed25519KeyAlgorithm, 0)
				waitIssued(t, c, crt, 1)
				leaf := checkSecret(t, c, crt, instance)
				if leaf.Issuer.CommonName != "consumer's own CA" {
					t.Errorf("issued by %q", leaf.Issuer.CommonName)
				}
			})
			t.Run("keystores, output formats and secretTemplate", func(t *testing.T) {
				t.Parallel()
				crt := newCertificate("default", "java", cmmeta.IssuerReference{Name: "default", Kind: "ClusterIssuer"}, cmapi.ECDSAKeyAlgorithm, 256)
				crt.Spec.Keystores = &cmapi.CertificateKeystores{
					PKCS12: &cmapi.PKCS12Keystore{Create: true, PasswordSecretRef: cmmeta.SecretKeySelector{
						LocalObjectReference: cmmeta.LocalObjectReference{Name: "java-keystore-password"}, Key: "password"}},
				}
				crt.Spec.AdditionalOutputFormats = []cmapi.CertificateAdditionalOutputFormat{{Type: cmapi.CertificateOutputFormatCombinedPEM}}
				crt.Spec.SecretTemplate = &cmapi.CertificateSecretTemplate{Labels: map[string]string{"app": "java"}}
				create(t, c, crt)
				// The password Secret comes after the Certificate: issuance waits for it.
				time.Sleep(2 * time.Second)
				create(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "java-keystore-password"},
					StringData: map[string]string{"password": "s3cret"}})
				waitIssued(t, c, crt, 1)
				s := &corev1.Secret{}
				if err := c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "java-tls"}, s); err != nil {
					t.Fatal(err)
				}
				if _, leaf, _, err := pkcs12.DecodeChain(s.Data[cmapi.PKCS12SecretKey], "s3cret"); err != nil || leaf.Subject.CommonName != "java.example" {
					t.Errorf("keystore.p12: %v", err)
				}
				if len(s.Data[cmapi.PKCS12TruststoreKey]) == 0 || len(s.Data[cmapi.CertificateOutputFormatCombinedPEMKey]) == 0 {
					t.Errorf("Secret keys %v", slices.Sorted(maps.Keys(s.Data)))
				}
				if s.Labels["app"] != "java" {
					t.Errorf("secretTemplate labels missing: %v", s.Labels)
				}
				// A template change and a dropped output format rewrite the Secret, not the certificate.
				update(t, c, crt, func(crt *cmapi.Certificate) {
					crt.Spec.SecretTemplate.Labels["app"] = "java-v2"
					crt.Spec.AdditionalOutputFormats = nil
				})
				eventually(t, issueTimeout, "Secret follows the template", func(ctx context.Context) error {
					got := &corev1.Secret{}
					if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "java-tls"}, got); err != nil {
						return err
					}
					if got.Labels["app"] != "java-v2" || len(got.Data[cmapi.CertificateOutputFormatCombinedPEMKey]) > 0 {
						return fmt.Errorf("labels %v keys %v", got.Labels, slices.Sorted(maps.Keys(got.Data)))
					}
					if !bytes.Equal(got.Data[corev1.TLSCertKey], s.Data[corev1.TLSCertKey]) {
						return fmt.Errorf("the certificate was re-issued")
					}
					return nil
				})
				waitIssued(t, c, crt, 1)
			})
			t.Run("an issuer of the other workspace is not found here", func(t *testing.T) {
				t.Parallel()
				// The other workspace has an Issuer named like this one; this workspace has none.
				create(t, clients[other], &cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "only-in-" + other},
					Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}}})
				crt := newCertificate("default", "stray", cmmeta.IssuerReference{Name: "only-in-" + other, Kind: "Issuer"}, cmapi.ECDSAKeyAlgorithm, 256)
				create(t, c, crt)
				eventually(t, issueTimeout, "request pending on a missing issuer", func(ctx context.Context) error {
					cr := &cmapi.CertificateRequest{}
					if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "stray-1"}, cr); err != nil {
						return err
					}
					cond := cmapiutil.GetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady)
					if cond == nil || cond.Reason != cmapi.CertificateRequestReasonPending || cond.Message != `Referenced "Issuer" not found` {
						return fmt.Errorf("Ready condition %+v", cond)
					}
					return nil
				})
				got := &cmapi.Certificate{}
				if err := c.Get(t.Context(), client.ObjectKeyFromObject(crt), got); err != nil {
					t.Fatal(err)
				}
				if cmapiutil.CertificateHasCondition(got, cmapi.CertificateCondition{Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionTrue}) {
					t.Error("Certificate is Ready without an issuer")
				}
				for _, cl := range []client.Client{c, clients[other]} {
					if err := cl.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "stray-tls"}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
						t.Errorf("a Secret was written for a Certificate without issuer: %v", err)
					}
				}
			})
		})
	}
}

// checkLifecycle issues crt and then re-issues it the ways a user would cause: the Secret
// is deleted, the spec changes, and cmctl renew is run.
func checkLifecycle(t *testing.T, c client.Client, crt *cmapi.Certificate, instance string) {
	waitIssued(t, c, crt, 1)
	first := checkSecret(t, c, crt, instance)

	if err := c.Delete(t.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: crt.Namespace, Name: crt.Spec.SecretName}}); err != nil {
		t.Fatal(err)
	}
	waitIssued(t, c, crt, 2)
	checkSecret(t, c, crt, instance)

	update(t, c, crt, func(crt *cmapi.Certificate) {
		crt.Spec.DNSNames = append(crt.Spec.DNSNames, "new."+crt.Name+".example")
	})
	waitIssued(t, c, crt, 3)
	if leaf := checkSecret(t, c, crt, instance); !slices.Contains(leaf.DNSNames, "new."+crt.Name+".example") {
		t.Errorf("spec change not issued: %v", leaf.DNSNames)
	}

	// What `cmctl renew` does.
	renew(t, c, crt)
	waitIssued(t, c, crt, 4)
	renewed := checkSecret(t, c, crt, instance)
	if eq, _ := pki.PublicKeysEqual(renewed.PublicKey, first.PublicKey); eq {
		t.Error("rotationPolicy Always: the renewed certificate has the old key")
	}
	eventually(t, 30*time.Second, "old requests pruned to revisionHistoryLimit 1", func(ctx context.Context) error {
		list := &cmapi.CertificateRequestList{}
		if err := c.List(ctx, list, client.InNamespace(crt.Namespace)); err != nil {
			return err
		}
		var names []string
		for _, cr := range list.Items {
			if metav1.IsControlledBy(&cr, crt) {
				names = append(names, cr.Name)
			}
		}
		if !slices.Equal(names, []string{crt.Name + "-4"}) {
			return fmt.Errorf("requests %v", names)
		}
		return nil
	})
	eventually(t, 30*time.Second, "temporary key Secrets removed", func(ctx context.Context) error {
		secrets := &corev1.SecretList{}
		if err := c.List(ctx, secrets, client.InNamespace(crt.Namespace), client.MatchingLabels{cmapi.IsNextPrivateKeySecretLabelKey: "true"}); err != nil {
			return err
		}
		for _, s := range secrets.Items {
			if metav1.IsControlledBy(&s, crt) {
				return fmt.Errorf("%s left behind", s.Name)
			}
		}
		return nil
	})
}

func newCertificate(ns, name string, ref cmmeta.IssuerReference, alg cmapi.PrivateKeyAlgorithm, size int) *cmapi.Certificate {
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: cmapi.CertificateSpec{
			SecretName: name + "-tls",
			CommonName: name + ".example",
			DNSNames:   []string{name + ".example"},
			Duration:   &metav1.Duration{Duration: 2 * time.Hour},
			IssuerRef:  ref,
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: alg, Size: size},
		},
	}
}

// waitIssued waits until crt is Ready at the given revision.
func waitIssued(t *testing.T, c client.Client, crt *cmapi.Certificate, revision int) {
	t.Helper()
	if crt.ResourceVersion == "" {
		create(t, c, crt)
	}
	eventually(t, issueTimeout, fmt.Sprintf("%s Ready at revision %d", crt.Name, revision), func(ctx context.Context) error {
		got := &cmapi.Certificate{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(crt), got); err != nil {
			return err
		}
		ready := cmapiutil.GetCertificateCondition(got, cmapi.CertificateConditionReady)
		if ptr.Deref(got.Status.Revision, 0) != revision || ready == nil || ready.Status != cmmeta.ConditionTrue {
			return fmt.Errorf("revision %v, Ready %+v, Issuing %+v", ptr.Deref(got.Status.Revision, 0), ready,
				cmapiutil.GetCertificateCondition(got, cmapi.CertificateConditionIssuing))
		}
		if ready.Reason != "Ready" || got.Status.NotAfter == nil || got.Status.RenewalTime == nil {
			return fmt.Errorf("status %+v", got.Status)
		}
		got.DeepCopyInto(crt)
		return nil
	})
}

// checkSecret checks what a user would: the leaf verifies against ca.crt for its DNS
// names, with the spec's SANs, usages and lifetime, and the operator that issued it.
func checkSecret(t *testing.T, c client.Client, crt *cmapi.Certificate, instance string) *x509.Certificate {
	t.Helper()
	s := &corev1.Secret{}
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: crt.Namespace, Name: crt.Spec.SecretName}, s); err != nil {
		t.Fatal(err)
	}
	if s.Type != corev1.SecretTypeTLS || s.Labels[cmapi.PartOfCertManagerControllerLabelKey] != "true" {
		t.Errorf("secret type %s labels %v", s.Type, s.Labels)
	}
	chain, err := pki.DecodeX509CertificateChainBytes(s.Data[corev1.TLSCertKey])
	if err != nil {
		t.Fatal(err)
	}
	leaf := chain[0]
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.Data[cmmeta.TLSCAKey]) {
		t.Fatal("ca.crt holds no certificate")
	}
	for _, ic := range chain[1:] {
		inters.AddCert(ic)
	}
	for _, name := range crt.Spec.DNSNames {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, DNSName: name,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%s: leaf does not verify for %s against ca.crt: %v", crt.Name, name, err)
		}
	}
	if !slices.Equal(leaf.DNSNames, crt.Spec.DNSNames) || leaf.Subject.CommonName != crt.Spec.CommonName {
		t.Errorf("SANs %v CN %q, want %v %q", leaf.DNSNames, leaf.Subject.CommonName, crt.Spec.DNSNames, crt.Spec.CommonName)
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		t.Errorf("default usages missing: %v", leaf.KeyUsage)
	}
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got != crt.Spec.Duration.Duration {
		t.Errorf("lifetime %v, want %v", got, crt.Spec.Duration.Duration)
	}
	key, err := pki.DecodePrivateKeyBytes(s.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		t.Fatal(err)
	}
	if v := pki.PrivateKeyMatchesSpec(key, crt.Spec); len(v) > 0 {
		t.Errorf("key does not match spec: %v", v)
	}
	if got := s.Annotations[controller.InstanceAnnotation]; got != instance {
		t.Errorf("issued by %q, want operator %q", got, instance)
	}
	return leaf
}

func waitIssuerReady(t *testing.T, c client.Client, issuer cmapi.GenericIssuer) {
	t.Helper()
	eventually(t, issueTimeout, "issuer "+issuer.GetName()+" Ready", func(ctx context.Context) error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(issuer), issuer); err != nil {
			return err
		}
		if !cmapiutil.IssuerHasCondition(issuer, cmapi.IssuerCondition{Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionTrue}) {
			return fmt.Errorf("conditions %+v", issuer.GetStatus().Conditions)
		}
		return nil
	})
}

// createOwnCA stores a CA key pair as a consumer brings it: a plain Secret, not labelled
// for the operator, so it is read live rather than from the cache.
func createOwnCA(t *testing.T, c client.Client, ns, name string) {
	t.Helper()
	_, certPEM, key := selfSignedCA(t, "consumer's own CA")
	keyPEM, err := pki.EncodePKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	create(t, c, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM}})
}

// renew does what `cmctl renew` does: Issuing=True with reason ManuallyTriggered.
func renew(t *testing.T, c client.Client, crt *cmapi.Certificate) {
	t.Helper()
	eventually(t, 30*time.Second, "renew "+crt.Name, func(ctx context.Context) error {
		got := &cmapi.Certificate{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(crt), got); err != nil {
			return err
		}
		cmapiutil.SetCertificateCondition(got, got.Generation, cmapi.CertificateConditionIssuing, cmmeta.ConditionTrue,
			"ManuallyTriggered", "Certificate re-issuance manually triggered")
		return c.Status().Update(ctx, got)
	})
}

func create(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	eventually(t, 30*time.Second, "create "+obj.GetName(), func(ctx context.Context) error {
		err := c.Create(ctx, obj)
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
}

func update(t *testing.T, c client.Client, crt *cmapi.Certificate, mutate func(*cmapi.Certificate)) {
	t.Helper()
	eventually(t, 30*time.Second, "update "+crt.Name, func(ctx context.Context) error {
		got := &cmapi.Certificate{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(crt), got); err != nil {
			return err
		}
		mutate(got)
		if err := c.Update(ctx, got); err != nil {
			return err
		}
		got.DeepCopyInto(crt)
		return nil
	})
}

// metricValue reads one gauge of the operator running in this process, by its labels
// (given as a map plus extra name/value pairs); -1 when there is no such series.
func metricValue(t *testing.T, name string, labels map[string]string, extra ...string) float64 {
	t.Helper()
	want := maps.Clone(labels)
	for i := 0; i+1 < len(extra); i += 2 {
		want[extra[i]] = extra[i+1]
	}
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue series
				}
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// selfSignedCA makes an ECDSA root CA with the given common name.
func selfSignedCA(t *testing.T, cn string) (*x509.Certificate, []byte, crypto.Signer) {
	t.Helper()
	key, err := pki.GenerateECPrivateKey(256)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := pki.CertificateTemplateFromCertificate(&cmapi.Certificate{Spec: cmapi.CertificateSpec{
		CommonName: cn, IsCA: true, PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256}}})
	if err != nil {
		t.Fatal(err)
	}
	tmpl.PublicKey = key.Public()
	certPEM, cert, err := pki.SignCertificate(tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM, key
}
