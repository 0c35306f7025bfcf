package certificates

import (
	"context"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/cert-manager/cert-manager/pkg/util/pki"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
	"github.com/platform-mesh/cert-manager-msp/internal/issuance"
)

// readiness keeps Ready (reason Ready, or the first failing check), notBefore, notAfter
// and renewalTime in step with the Secret, and comes back when the certificate expires.
func readiness(ctx context.Context, s *state) (reconcile.Result, error) {
	in, err := s.input(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	unclaimed := false
	if in.Secret == nil && !cmapiutil.CertificateHasCondition(s.crt, issuingTrue) {
		// No Secret in the cache and no issuance under way: perhaps the binding keeps
		// Secrets from us. While issuing, the trigger has already read the Secret live,
		// so the hot path of a first issuance makes no extra read here.
		_, err := s.liveSecret(ctx)
		unclaimed = apierrors.IsForbidden(err)
	}
	if unclaimed {
		cmapiutil.SetCertificateCondition(s.crt, s.crt.Generation, cmapi.CertificateConditionReady, cmmeta.ConditionFalse,
			ReasonSecretsClaimNotAccepted, secretsClaimMessage)
	} else {
		setReadiness(s, in)
	}
	if unclaimed {
		return reconcile.Result{RequeueAfter: unclaimedRetry}, nil
	}
	if na := s.crt.Status.NotAfter; na != nil && na.After(s.now) {
		return reconcile.Result{RequeueAfter: controller.Requeue(na.Sub(s.now))}, nil
	}
	return reconcile.Result{}, nil
}

// setReadiness sets the Ready condition and the certificate's times on s.crt.
func setReadiness(s *state, in issuance.Input) {
	s.crt.Status.NotBefore, s.crt.Status.NotAfter, s.crt.Status.RenewalTime = nil, nil, nil
	if in.Secret != nil {
		if cert, err := pki.DecodeX509CertificateBytes(in.Secret.Data[corev1.TLSCertKey]); err == nil {
			s.crt.Status.NotBefore = &metav1.Time{Time: cert.NotBefore}
			s.crt.Status.NotAfter = &metav1.Time{Time: cert.NotAfter}
			if rt, err := issuance.RenewalTime(s.crt, cert); err == nil {
				s.crt.Status.RenewalTime = rt
			}
		}
	}
	verdict := issuance.ReadinessChain.Evaluate(in)
	if verdict.Failed() {
		cmapiutil.SetCertificateCondition(s.crt, s.crt.Generation, cmapi.CertificateConditionReady, cmmeta.ConditionFalse, verdict.Reason, verdict.Message)
		return
	}
	cmapiutil.SetCertificateCondition(s.crt, s.crt.Generation, cmapi.CertificateConditionReady, cmmeta.ConditionTrue,
		"Ready", "Certificate is up to date and has not expired")
}
