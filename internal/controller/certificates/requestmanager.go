package certificates

import (
	"context"
	"errors"
	"fmt"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/platform-mesh/cert-manager-msp/internal/controller/certificaterequests"
	"github.com/platform-mesh/cert-manager-msp/internal/issuance"
)

// requestManager makes sure that, while issuing, the CertificateRequest of the next
// revision exists and matches both the spec and the stored next private key. A request
// that no longer matches (the spec changed mid-flight) is deleted and made again.
func requestManager(ctx context.Context, s *state) (reconcile.Result, error) {
	if !cmapiutil.CertificateHasCondition(s.crt, issuingTrue) || s.crt.Status.NextPrivateKeySecretName == nil {
		return reconcile.Result{}, nil
	}
	keySecret, err := s.get(ctx, *s.crt.Status.NextPrivateKeySecretName)
	if err != nil {
		return reconcile.Result{}, err
	}
	key, ok := nextKey(s.crt, keySecret)
	if !ok {
		return reconcile.Result{}, nil // the key manager is on it
	}
	revision := s.revision() + 1
	existing, err := s.request(ctx, revision)
	if err != nil {
		return reconcile.Result{}, err
	}
	if existing != nil {
		if requestMatches(s.crt, existing, key.Public()) && !failedBeforeIssuing(s.crt, existing) {
			return reconcile.Result{}, nil
		}
		// Out of date, or failed in an earlier attempt at this revision: make a new one.
		err := s.ws.Client.Delete(ctx, existing, client.Preconditions{UID: &existing.UID})
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	cr, err := issuance.NewRequest(s.crt, key, revision, keySecret.Name)
	if errors.Is(err, issuance.ErrInvalidSpec) {
		return reconcile.Result{}, failIssuance(s, fmt.Sprintf("Failed to generate a CSR from the spec: %v", err))
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	if err := s.ws.Client.Create(ctx, cr); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return reconcile.Result{}, nil // created before; the cache had not caught up
		}
		s.ws.Recorder.Eventf(s.crt, corev1.EventTypeWarning, "RequestFailed", "Failed to create CertificateRequest: %v", err)
		return reconcile.Result{}, err
	}
	s.created = cr
	s.ws.Recorder.Eventf(s.crt, corev1.EventTypeNormal, "Requested", "Created new CertificateRequest resource %q", cr.Name)
	return reconcile.Result{}, nil
}

// signing settles the request this reconcile has just created (approves it and, for a
// built-in issuer, signs it) the way the CertificateRequest controller would, so that
// issuing can finish in this same reconcile instead of after two trips through kcp's
// watch. Requests the cache shows are left to that controller, which waits
// certificaterequests.InlineGrace before taking over new ones from here; retrying a
// request left Pending is its job too. A failed write ends the reconcile, so no later
// step acts on a status that kcp does not hold.
func signing(ctx context.Context, s *state) (reconcile.Result, error) {
	if s.created == nil || !s.opts.ApproveRequests {
		return reconcile.Result{}, nil
	}
	ws := s.ws.As(certificaterequests.Component)
	_, err := certificaterequests.Settle(ctx, ws, s.opts, s.created, s.getSecret)
	return reconcile.Result{}, err
}

func requestMatches(crt *cmapi.Certificate, cr *cmapi.CertificateRequest, public any) bool {
	csr, err := pki.DecodeX509CertificateRequestBytes(cr.Spec.Request)
	if err != nil {
		return false
	}
	if equal, err := pki.PublicKeysEqual(csr.PublicKey, public); err != nil || !equal {
		return false
	}
	violations, err := pki.RequestMatchesSpec(cr, crt.Spec)
	return err == nil && len(violations) == 0
}
