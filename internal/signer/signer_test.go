package signer

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"slices"
	"testing"
	"time"

	cmacme "github.com/cert-manager/cert-manager/pkg/apis/acme/v1"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/platform-mesh/cert-manager-msp/internal/issuance"
)

// secrets is a SecretGetter over a fixed set.
type secrets map[string]*corev1.Secret

func (s secrets) get(_ context.Context, ns, name string) (*corev1.Secret, error) {
	if sec, ok := s[ns+"/"+name]; ok {
		return sec, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

func keySecret(t *testing.T, ns, name string, key crypto.Signer, cert []byte, ca []byte) *corev1.Secret {
	t.Helper()
	pemKey, err := pki.EncodePKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{corev1.TLSPrivateKeyKey: pemKey}}
	if cert != nil {
		s.Data[corev1.TLSCertKey] = cert
	}
	if ca != nil {
		s.Data[cmmeta.TLSCAKey] = ca
	}
	return s
}

func ecKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := pki.GenerateECPrivateKey(256)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newCA makes a CA certificate, self-signed when parent is nil.
func newCA(t *testing.T, cn string, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, []byte, crypto.Signer) {
	t.Helper()
	key := ecKey(t)
	tmpl, err := pki.CertificateTemplateFromCertificate(&cmapi.Certificate{Spec: cmapi.CertificateSpec{CommonName: cn, IsCA: true}})
	if err != nil {
		t.Fatal(err)
	}
	tmpl.PublicKey = key.Public()
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	certPEM, cert, err := pki.SignCertificate(tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM, key
}

func request(t *testing.T, key crypto.Signer, spec cmapi.CertificateSpec) *cmapi.CertificateRequest {
	t.Helper()
	spec.PrivateKey = &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256} // as ecKey makes
	crt := &cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"}, Spec: spec}
	cr, err := issuance.NewRequest(crt, key, 1, "web-next")
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

func outcome(t *testing.T, err error) *Outcome {
	t.Helper()
	var o *Outcome
	if !errors.As(err, &o) {
		t.Fatalf("error %v is not an *Outcome", err)
	}
	return o
}

func TestSelfSigned(t *testing.T) {
	key := ecKey(t)
	spec := cmapi.CertificateSpec{CommonName: "web", DNSNames: []string{"web.example"}, Duration: &metav1.Duration{Duration: 2 * time.Hour}}
	issuer := func(s secrets) Issuer {
		return Issuer{GenericIssuer: &cmapi.Issuer{Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{
			SelfSigned: &cmapi.SelfSignedIssuer{CRLDistributionPoints: []string{"http://crl.example/ca.crl"}}}}},
			ResourceNamespace: "app", GetSecret: s.get}
	}

	t.Run("signs with the named key, and is its own CA", func(t *testing.T) {
		res, err := SelfSigned{}.Sign(t.Context(), issuer(secrets{"app/web-next": keySecret(t, "app", "web-next", key, nil, nil)}), request(t, key, spec))
		if err != nil {
			t.Fatal(err)
		}
		cert, err := pki.DecodeX509CertificateBytes(res.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		if string(res.CA) != string(res.Certificate) {
			t.Error("ca.crt of a self-signed certificate must be the certificate itself")
		}
		if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil ||
			cert.Issuer.String() != cert.Subject.String() {
			t.Errorf("not self-signed: %v (issuer %q)", err, cert.Issuer)
		}
		if !slices.Equal(cert.DNSNames, []string{"web.example"}) || cert.Subject.CommonName != "web" {
			t.Errorf("SANs %v CN %q", cert.DNSNames, cert.Subject.CommonName)
		}
		if got := cert.NotAfter.Sub(cert.NotBefore); got != 2*time.Hour {
			t.Errorf("lifetime %v, want 2h", got)
		}
		if !slices.Equal(cert.CRLDistributionPoints, []string{"http://crl.example/ca.crl"}) {
			t.Errorf("CRL distribution points %v", cert.CRLDistributionPoints)
		}
	})

	for _, tc := range []struct {
		name    string
		secrets secrets
		mutate  func(*cmapi.CertificateRequest)
		pending bool
		reason  string
	}{
		{name: "annotation missing", secrets: secrets{}, mutate: func(cr *cmapi.CertificateRequest) {
			delete(cr.Annotations, cmapi.CertificateRequestPrivateKeyAnnotationKey)
		}, reason: "MissingAnnotation"},
		{name: "key secret missing", secrets: secrets{}, pending: true, reason: "MissingSecret"},
		{name: "key unparsable", secrets: secrets{"app/web-next": {ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web-next"},
			Data: map[string][]byte{corev1.TLSPrivateKeyKey: []byte("not a key")}}}, pending: true, reason: "ErrorParsingKey"},
		{name: "CSR from another key", secrets: secrets{"app/web-next": keySecret(t, "app", "web-next", ecKey(t), nil, nil)}, reason: "ErrorKeyMatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := request(t, key, spec)
			if tc.mutate != nil {
				tc.mutate(cr)
			}
			_, err := SelfSigned{}.Sign(t.Context(), issuer(tc.secrets), cr)
			o := outcome(t, err)
			if o.Pending != tc.pending || o.Reason != tc.reason {
				t.Errorf("got pending=%v reason=%s (%v), want pending=%v reason=%s", o.Pending, o.Reason, o, tc.pending, tc.reason)
			}
		})
	}
}

func TestCA(t *testing.T) {
	root, rootPEM, rootKey := newCA(t, "root", nil, nil)
	inter, interPEM, interKey := newCA(t, "intermediate", root, rootKey)
	_ = inter
	caIssuer := func(s secrets) Issuer {
		return Issuer{GenericIssuer: &cmapi.ClusterIssuer{Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{
			SecretName:             "ca",
			CRLDistributionPoints:  []string{"http://crl.example/i.crl"},
			OCSPServers:            []string{"http://ocsp.example"},
			IssuingCertificateURLs: []string{"http://certs.example/i.crt"},
		}}}}, ResourceNamespace: "cert-manager", GetSecret: s.get}
	}
	rootSecret := keySecret(t, "cert-manager", "ca", rootKey, rootPEM, nil)
	interSecret := keySecret(t, "cert-manager", "ca", interKey, interPEM, rootPEM)

	t.Run("setup", func(t *testing.T) {
		leafKey := ecKey(t)
		leafPEM, _, err := pki.SignCertificate(&x509.Certificate{SerialNumber: root.SerialNumber, NotAfter: root.NotAfter}, root, leafKey.Public(), rootKey)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name    string
			secrets secrets
			ready   bool
			reason  string
		}{
			{"verified", secrets{"cert-manager/ca": rootSecret}, true, "KeyPairVerified"},
			{"missing", secrets{}, false, "ErrGetKeyPair"},
			{"key does not match", secrets{"cert-manager/ca": keySecret(t, "cert-manager", "ca", ecKey(t), rootPEM, nil)}, false, "ErrGetKeyPair"},
			{"not a CA", secrets{"cert-manager/ca": keySecret(t, "cert-manager", "ca", leafKey, leafPEM, nil)}, false, "ErrInvalidKeyPair"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := CA{}.Setup(t.Context(), caIssuer(tc.secrets))
				if st.Ready != tc.ready || st.Reason != tc.reason {
					t.Errorf("got %+v, want ready=%v reason=%s", st, tc.ready, tc.reason)
				}
			})
		}
	})

	t.Run("signs below an intermediate: chain has the intermediate, ca.crt is the root", func(t *testing.T) {
		key := ecKey(t)
		res, err := CA{}.Sign(t.Context(), caIssuer(secrets{"cert-manager/ca": interSecret}),
			request(t, key, cmapi.CertificateSpec{DNSNames: []string{"a.example"}, IPAddresses: []string{"10.0.0.1"}}))
		if err != nil {
			t.Fatal(err)
		}
		chain, err := pki.DecodeX509CertificateChainBytes(res.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		if len(chain) != 2 || chain[1].Subject.CommonName != "intermediate" {
			t.Fatalf("chain has %d certificates", len(chain))
		}
		if string(res.CA) != string(rootPEM) {
			t.Error("ca.crt is not the root")
		}
		roots, inters := x509.NewCertPool(), x509.NewCertPool()
		roots.AppendCertsFromPEM(res.CA)
		inters.AddCert(chain[1])
		if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, DNSName: "a.example"}); err != nil {
			t.Errorf("leaf does not verify: %v", err)
		}
		leaf := chain[0]
		if !slices.Equal(leaf.OCSPServer, []string{"http://ocsp.example"}) ||
			!slices.Equal(leaf.IssuingCertificateURL, []string{"http://certs.example/i.crt"}) ||
			!slices.Equal(leaf.CRLDistributionPoints, []string{"http://crl.example/i.crl"}) {
			t.Errorf("AIA/CRL not applied: %v %v %v", leaf.OCSPServer, leaf.IssuingCertificateURL, leaf.CRLDistributionPoints)
		}
		if len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "10.0.0.1" {
			t.Errorf("IP SANs %v", leaf.IPAddresses)
		}
	})

	t.Run("signs below a root: ca.crt is the root", func(t *testing.T) {
		res, err := CA{}.Sign(t.Context(), caIssuer(secrets{"cert-manager/ca": rootSecret}), request(t, ecKey(t), cmapi.CertificateSpec{CommonName: "x"}))
		if err != nil {
			t.Fatal(err)
		}
		if string(res.CA) != string(rootPEM) {
			t.Error("ca.crt is not the root")
		}
	})

	for _, tc := range []struct {
		name    string
		secrets secrets
		reason  string
	}{
		{"secret missing", secrets{}, "SecretMissing"},
		{"secret invalid", secrets{"cert-manager/ca": {Data: map[string][]byte{corev1.TLSPrivateKeyKey: []byte("x")}}}, "SecretInvalidData"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CA{}.Sign(t.Context(), caIssuer(tc.secrets), request(t, ecKey(t), cmapi.CertificateSpec{CommonName: "x"}))
			if o := outcome(t, err); !o.Pending || o.Reason != tc.reason {
				t.Errorf("got %+v, want Pending %s", o, tc.reason)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	reg := Default()
	for _, tc := range []struct {
		name   string
		config cmapi.IssuerConfig
		reason string // empty: a signer is found
	}{
		{"selfSigned", cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}, ""},
		{"ca", cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: "s"}}, ""},
		{"acme", cmapi.IssuerConfig{ACME: &cmacme.ACMEIssuer{}}, ReasonUnsupportedIssuerType},
		{"vault", cmapi.IssuerConfig{Vault: &cmapi.VaultIssuer{}}, ReasonUnsupportedIssuerType},
		{"venafi", cmapi.IssuerConfig{Venafi: &cmapi.VenafiIssuer{}}, ReasonUnsupportedIssuerType},
		{"none", cmapi.IssuerConfig{}, ReasonInvalidConfig},
		{"two", cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}, CA: &cmapi.CAIssuer{}}, ReasonInvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, st := reg.For(&cmapi.Issuer{Spec: cmapi.IssuerSpec{IssuerConfig: tc.config}})
			switch {
			case tc.reason == "" && (s == nil || st != nil):
				t.Errorf("no signer: %+v", st)
			case tc.reason != "" && (st == nil || st.Reason != tc.reason || st.Ready):
				t.Errorf("got %+v, want reason %s", st, tc.reason)
			}
		})
	}
}
