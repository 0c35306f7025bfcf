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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
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
	existing, err := s.get(ctx, name)
	if err != nil {
		return reconcile.Result{}, err
	}
	if _, ok := nextKey(s.crt, existing); !ok {
		// The cache can lag the key this controller stored a moment ago. Storing again
		// would replace the key that a CertificateRequest may already be signed for, and
		// the signer would then find that the CSR does not match: read kcp first.
		if existing, err = s.liveGet(ctx, name); err != nil {
			return reconcile.Result{}, err
		}
	}
	if _, ok := nextKey(s.crt, existing); !ok {
		if err := storeNextKey(ctx, s, name); err != nil {
			return reconcile.Result{}, err
		}
	}
	if ptr.Deref(s.crt.Status.NextPrivateKeySecretName, "") != name {
		s.crt.Status.NextPrivateKeySecretName = &name
		return reconcile.Result{}, s.updateStatus(ctx)
	}
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

func storeNextKey(ctx context.Context, s *state, name string) error {
	current, err := s.secret(ctx)
	if err != nil {
		return err
	}
	key, err := issuance.NextPrivateKey(s.crt, current)
	if err != nil {
		return err
	}
	pemKey, err := issuance.EncodePrivateKey(s.crt, key)
	if err != nil {
		return err
	}
	owner := metav1.NewControllerRef(s.crt, issuance.CertificateGVK)
	secret := corev1ac.Secret(name, s.crt.Namespace).
		WithLabels(map[string]string{
			cmapi.IsNextPrivateKeySecretLabelKey:      "true",
			cmapi.PartOfCertManagerControllerLabelKey: "true",
		}).
		WithOwnerReferences(metav1ac.OwnerReference().
			WithAPIVersion(owner.APIVersion).WithKind(owner.Kind).WithName(owner.Name).WithUID(owner.UID).
			WithController(true).WithBlockOwnerDeletion(true)).
		WithData(map[string][]byte{corev1.TLSPrivateKeyKey: pemKey})
	return s.ws.Client.Apply(ctx, secret, client.FieldOwner(controller.FieldManager), client.ForceOwnership)
}

// deleteNextKeys removes the temporary key Secrets this Certificate owns.
func deleteNextKeys(ctx context.Context, s *state) error {
	secrets := &corev1.SecretList{}
	err := s.ws.Client.List(ctx, secrets, client.InNamespace(s.crt.Namespace),
		client.MatchingLabels{cmapi.IsNextPrivateKeySecretLabelKey: "true"})
	if err != nil {
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
