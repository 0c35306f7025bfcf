package certificates

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/platform-mesh/cert-manager-msp/internal/issuance"
)

// keyManager keeps the private key for the next issuance in a temporary Secret named in
// status.nextPrivateKeySecretName, so that a crash between key generation and issuance
// loses nothing. When the Certificate is not issuing, it removes such Secrets.
func keyManager(ctx context.Context, s *state) (reconcile.Result, error) {
	if !cmapiutil.CertificateHasCondition(s.crt, issuingTrue) {
		return reconcile.Result{}, deleteNextKeys(ctx, s)
	}
	name := nextKeySecretName(s.crt)
	secret, err := s.get(ctx, name)
	if err != nil {
		return reconcile.Result{}, err
	}
	if _, ok := nextKey(s.crt, secret); !ok {
		if secret, err = storeNextKey(ctx, s, name, secret); err != nil {
			return reconcile.Result{}, err
		}
	}
	s.written[name] = secret
	s.crt.Status.NextPrivateKeySecretName = &name
	return reconcile.Result{}, nil
}

// nextKeySecretName is stable for one Certificate object, so a retried step finds the key
// it stored before, and unique to it (by UID), so a re-created Certificate starts afresh.
func nextKeySecretName(crt *cmapi.Certificate) string {
	sum := sha256.Sum256([]byte(crt.UID))
	return cmapiutil.DNSSafeShortenTo52Characters(crt.Name) + "-" + hex.EncodeToString(sum[:])[:5]
}

// nextKey is the key in a temporary key Secret, if the Secret is crt's and the key still
// fits crt's spec.
func nextKey(crt *cmapi.Certificate, s *corev1.Secret) (crypto.Signer, bool) {
	if s == nil || !metav1.IsControlledBy(s, crt) {
		return nil, false
	}
	key, err := pki.DecodePrivateKeyBytes(s.Data[corev1.TLSPrivateKeyKey])
	if err != nil || len(pki.PrivateKeyMatchesSpec(key, crt.Spec)) > 0 {
		return nil, false
	}
	return key, true
}

// storeNextKey stores a new next private key, unless kcp already holds one that fits:
// the cache can lag the key stored a moment ago, and replacing that key would leave a
// CertificateRequest signed for a key that no longer exists. So it only creates (which
// fails if the Secret exists), and replaces a key only after reading it from kcp.
func storeNextKey(ctx context.Context, s *state, name string, cached *corev1.Secret) (*corev1.Secret, error) {
	if cached == nil {
		fresh, err := newKeySecret(ctx, s, name)
		if err != nil {
			return nil, err
		}
		if err = s.ws.Client.Create(ctx, fresh); !apierrors.IsAlreadyExists(err) {
			return fresh, err
		}
	}
	live, err := s.liveGet(ctx, name)
	if err != nil {
		return nil, err
	}
	if _, ok := nextKey(s.crt, live); ok {
		return live, nil
	}
	fresh, err := newKeySecret(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if live == nil {
		return fresh, s.ws.Client.Create(ctx, fresh)
	}
	fresh.ResourceVersion = live.ResourceVersion // replace only what was read
	return fresh, s.ws.Client.Update(ctx, fresh)
}

// newKeySecret is a temporary Secret holding a new private key for crt's next issuance.
func newKeySecret(ctx context.Context, s *state, name string) (*corev1.Secret, error) {
	current, err := s.secret(ctx)
	if err != nil {
		return nil, err
	}
	key, err := issuance.NextPrivateKey(s.crt, current)
	if err != nil {
		return nil, err
	}
	pemKey, err := issuance.EncodePrivateKey(s.crt, key)
	if err != nil {
		return nil, err
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: s.crt.Namespace, Name: name,
			Labels: map[string]string{
				cmapi.IsNextPrivateKeySecretLabelKey:      "true",
				cmapi.PartOfCertManagerControllerLabelKey: "true",
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(s.crt, issuance.CertificateGVK)},
		},
		Data: map[string][]byte{corev1.TLSPrivateKeyKey: pemKey},
	}, nil
}

// deleteNextKeys removes the temporary key Secrets this Certificate owns.
func deleteNextKeys(ctx context.Context, s *state) error {
	secrets := &corev1.SecretList{}
	if err := listControlledBy(ctx, s.ws.Client, secrets, s.crt,
		client.MatchingLabels{cmapi.IsNextPrivateKeySecretLabelKey: "true"}); err != nil {
		return err
	}
	for i := range secrets.Items {
		if metav1.IsControlledBy(&secrets.Items[i], s.crt) {
			if err := s.ws.Client.Delete(ctx, &secrets.Items[i]); client.IgnoreNotFound(err) != nil {
				return err
			}
		}
	}
	return nil
}
