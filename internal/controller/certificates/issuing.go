package certificates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
	"github.com/platform-mesh/cert-manager-msp/internal/issuance"
)

// issuing finishes an issuance once the next revision's request has an answer: a signed
// certificate goes into the Secret with the stored next key and the revision is bumped;
// a failed or denied request ends the issuance with the request's reason, and the
// trigger backs off before trying again.
func issuing(ctx context.Context, s *state) (reconcile.Result, error) {
	if !cmapiutil.CertificateHasCondition(s.crt, issuingTrue) {
		return reconcile.Result{}, refreshSecret(ctx, s)
	}
	if s.crt.Status.NextPrivateKeySecretName == nil {
		return reconcile.Result{}, nil
	}
	revision := s.revision() + 1
	cr, err := s.request(ctx, revision)
	if err != nil || cr == nil {
		return reconcile.Result{}, err
	}
	if msg, failed := requestFailed(cr); failed {
		if failedBeforeIssuing(s.crt, cr) {
			return reconcile.Result{}, nil // an earlier attempt's; the request manager replaces it
		}
		return reconcile.Result{}, failIssuance(s, msg)
	}
	if !cmapiutil.CertificateRequestHasCondition(cr, readyTrue) || len(cr.Status.Certificate) == 0 {
		return reconcile.Result{}, nil // still being signed
	}
	keySecret, err := s.get(ctx, *s.crt.Status.NextPrivateKeySecretName)
	if err != nil || keySecret == nil {
		return reconcile.Result{}, err
	}
	if key, ok := nextKey(s.crt, keySecret); !ok || !requestMatches(s.crt, cr, key.Public()) {
		// Not this key's request (the cache may still show one the request manager has
		// just replaced): wait for the new one rather than fail on the old.
		return reconcile.Result{}, nil
	}
	if err := checkSignedForKey(cr.Status.Certificate, keySecret); err != nil {
		return reconcile.Result{}, failIssuance(s, err.Error())
	}
	if !s.issuingStored {
		// Nothing is written before Issuing=True is stored in kcp. Were the Secret written
		// and the status write after it lost, the next reconcile would then find
		// Issuing=True and finish; otherwise the trigger would find a valid Secret, start
		// nothing, and the revision would never be recorded.
		if err := s.storeStatus(ctx); err != nil {
			return reconcile.Result{}, err
		}
	}
	secret, err := renderSecret(ctx, s, issuance.SecretContents{
		PrivateKey: keySecret.Data[corev1.TLSPrivateKeyKey], Certificate: cr.Status.Certificate, CA: cr.Status.CA,
	})
	var pwErr *passwordError
	switch {
	case errors.As(err, &pwErr):
		return reconcile.Result{}, err // the consumer can fix it; keep what was signed and retry
	case err != nil:
		return reconcile.Result{}, failIssuance(s, err.Error())
	}
	if err := applySecret(ctx, s, secret); err != nil {
		return reconcile.Result{}, err
	}
	s.written[*secret.Name] = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Namespace: *secret.Namespace, Name: *secret.Name, Labels: secret.Labels, Annotations: secret.Annotations,
	}, Data: secret.Data}
	s.crt.Status.Revision = &revision
	s.crt.Status.NextPrivateKeySecretName = nil
	s.crt.Status.LastFailureTime = nil
	s.crt.Status.FailedIssuanceAttempts = nil
	cmapiutil.RemoveCertificateCondition(s.crt, cmapi.CertificateConditionIssuing)
	s.ws.Recorder.Event(s.crt, corev1.EventTypeNormal, "Issuing", "The certificate has been successfully issued")
	return requeueAtRenewal(s)
}

// renderSecret renders the Secret with the keystore passwords resolved. A password that
// cannot be read is a *passwordError, and an event tells the consumer.
func renderSecret(ctx context.Context, s *state, contents issuance.SecretContents) (*corev1ac.SecretApplyConfiguration, error) {
	var err error
	if contents.Passwords, err = keystorePasswords(ctx, s); err != nil {
		s.ws.Recorder.Event(s.crt, corev1.EventTypeWarning, "KeystorePasswordError", err.Error())
		return nil, &passwordError{err}
	}
	return issuance.RenderSecret(s.crt, contents, map[string]string{controller.InstanceAnnotation: s.opts.InstanceID})
}

type passwordError struct{ error }

func (e *passwordError) Unwrap() error { return e.error }

// applySecret writes the Secret server-side, owning every field it sets, then removes
// the optional keys it manages that the spec no longer asks for. The removal is explicit
// because kcp v0.31's APIExport virtual workspace records an apply through it as an
// Update, so fields left out of an apply are not removed as server-side apply would.
// On return, secret holds the Secret as the server has it.
func applySecret(ctx context.Context, s *state, secret *corev1ac.SecretApplyConfiguration) error {
	// Apply fills secret with the server's answer, so note what was asked for first.
	wanted := map[string]bool{}
	for key := range secret.Data {
		wanted[key] = true
	}
	if err := s.ws.Client.Apply(ctx, secret, client.FieldOwner(controller.FieldManager), client.ForceOwnership); err != nil {
		return err
	}
	stale := map[string]any{}
	for _, key := range issuance.OptionalSecretKeys {
		if _, has := secret.Data[key]; has && !wanted[key] {
			stale[key] = nil
		}
	}
	if len(stale) == 0 {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"data": stale})
	if err != nil {
		return err
	}
	written := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: *secret.Namespace, Name: *secret.Name}}
	if err := s.ws.Client.Patch(ctx, written, client.RawPatch(types.MergePatchType, patch), client.FieldOwner(controller.FieldManager)); err != nil {
		return err
	}
	for key := range stale {
		delete(secret.Data, key)
	}
	return nil
}

// refreshSecret rewrites a valid issued Secret whose template labels, annotations,
// output formats or keystores no longer follow the spec, keeping its certificate.
func refreshSecret(ctx context.Context, s *state) error {
	in, err := s.input(ctx)
	if err != nil || in.Secret == nil || issuance.ReadinessChain.Evaluate(in).Failed() {
		return err // not valid: the trigger re-issues instead
	}
	reason := issuance.SecretNeedsUpdate(s.crt, in.Secret)
	if reason == "" {
		return nil
	}
	log.FromContext(ctx).Info("Updating the Secret without re-issuing", "why", reason)
	secret, err := renderSecret(ctx, s, issuance.SecretContents{
		PrivateKey: in.Secret.Data[corev1.TLSPrivateKeyKey], Certificate: in.Secret.Data[corev1.TLSCertKey], CA: in.Secret.Data[cmmeta.TLSCAKey],
	})
	if err != nil {
		return err
	}
	return applySecret(ctx, s, secret)
}

var readyTrue = cmapi.CertificateRequestCondition{Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue}

// requestFailed says whether a request ended without a certificate, and why.
func requestFailed(cr *cmapi.CertificateRequest) (string, bool) {
	if cmapiutil.CertificateRequestHasInvalidRequest(cr) {
		return cmapiutil.CertificateRequestInvalidRequestMessage(cr), true
	}
	switch reason := cmapiutil.CertificateRequestReadyReason(cr); reason {
	case cmapi.CertificateRequestReasonFailed, cmapi.CertificateRequestReasonDenied:
		c := cmapiutil.GetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionReady)
		return c.Message, true
	}
	return "", false
}

// failedBeforeIssuing is true for a request that ended without a certificate before the
// current issuance began (Issuing=True was set after it failed): it belongs to an
// earlier attempt at the same revision.
func failedBeforeIssuing(crt *cmapi.Certificate, cr *cmapi.CertificateRequest) bool {
	if _, failed := requestFailed(cr); !failed {
		return false
	}
	issuingCond := cmapiutil.GetCertificateCondition(crt, cmapi.CertificateConditionIssuing)
	if issuingCond == nil || issuingCond.LastTransitionTime == nil {
		return false
	}
	failedAt := cr.Status.FailureTime
	if c := cmapiutil.GetCertificateRequestCondition(cr, cmapi.CertificateRequestConditionInvalidRequest); failedAt == nil && c != nil {
		failedAt = c.LastTransitionTime
	}
	return failedAt != nil && failedAt.Before(issuingCond.LastTransitionTime)
}

func checkSignedForKey(certPEM []byte, keySecret *corev1.Secret) error {
	cert, err := pki.DecodeX509CertificateBytes(certPEM)
	if err != nil {
		return fmt.Errorf("the issued certificate cannot be decoded: %w", err)
	}
	key, err := pki.DecodePrivateKeyBytes(keySecret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		return fmt.Errorf("the stored private key cannot be decoded: %w", err)
	}
	if ok, err := pki.PublicKeyMatchesCertificate(key.Public(), cert); err != nil || !ok {
		return fmt.Errorf("the issued certificate does not match the stored private key")
	}
	return nil
}

// failIssuance ends an issuance that cannot succeed: Issuing=False (reason Failed),
// lastFailureTime and failedIssuanceAttempts set, so that the trigger backs off.
func failIssuance(s *state, message string) error {
	msg := "The certificate request has failed to complete and will be retried: " + message
	cmapiutil.SetCertificateCondition(s.crt, s.crt.Generation, cmapi.CertificateConditionIssuing, cmmeta.ConditionFalse, "Failed", msg)
	s.crt.Status.LastFailureTime = ptr.To(metav1.NewTime(s.now))
	s.crt.Status.FailedIssuanceAttempts = ptr.To(ptr.Deref(s.crt.Status.FailedIssuanceAttempts, 0) + 1)
	s.crt.Status.NextPrivateKeySecretName = nil
	s.ws.Recorder.Event(s.crt, corev1.EventTypeWarning, "Failed", msg)
	return nil
}

// keystorePasswords resolves the passwords of the keystores the spec asks for: the
// literal password, or the key of the Secret passwordSecretRef names in the
// Certificate's namespace (read live: it is the consumer's Secret, not ours).
func keystorePasswords(ctx context.Context, s *state) (issuance.KeystorePasswords, error) {
	var p issuance.KeystorePasswords
	ks := s.crt.Spec.Keystores
	if ks == nil {
		return p, nil
	}
	var err error
	if ks.JKS != nil && ks.JKS.Create {
		if p.JKS, err = password(ctx, s, "jks", ks.JKS.Password, ks.JKS.PasswordSecretRef); err != nil {
			return p, err
		}
	}
	if ks.PKCS12 != nil && ks.PKCS12.Create {
		if p.PKCS12, err = password(ctx, s, "pkcs12", ks.PKCS12.Password, ks.PKCS12.PasswordSecretRef); err != nil {
			return p, err
		}
	}
	return p, nil
}

func password(ctx context.Context, s *state, store string, literal *string, ref cmmeta.SecretKeySelector) ([]byte, error) {
	if literal != nil {
		return []byte(*literal), nil
	}
	secret, err := s.ws.GetSecret(ctx, s.crt.Namespace, ref.Name)
	if err != nil {
		return nil, fmt.Errorf("spec.keystores.%s.passwordSecretRef: reading Secret %s/%s: %w", store, s.crt.Namespace, ref.Name, err)
	}
	value, ok := secret.Data[ref.Key]
	if !ok {
		return nil, fmt.Errorf("spec.keystores.%s.passwordSecretRef: Secret %s/%s has no key %q", store, s.crt.Namespace, ref.Name, ref.Key)
	}
	return value, nil
}
