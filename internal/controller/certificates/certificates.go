// Package certificates issues Certificates in every workspace with cert-manager's
// semantics. Like cert-manager it is split by concern, one step each:
//
//   - trigger: decides, in cert-manager's order of reasons, that a Certificate needs
//     issuing, and sets Issuing=True (cmctl renew sets it by hand);
//   - keymanager: keeps the next private key in a temporary Secret while issuing;
//   - requestmanager: creates the CertificateRequest for the next revision;
//   - signing: approves and signs the request just created, for the built-in issuers,
//     as the CertificateRequest controller would;
//   - issuing: writes the signed result into the Secret, or records the failure;
//   - readiness: keeps Ready, notBefore, notAfter and renewalTime;
//   - revisionmanager: prunes CertificateRequests beyond revisionHistoryLimit.
//
// Unlike cert-manager, the steps are not six controllers but one, which runs them in
// this order on one copy of the Certificate and writes its status once. Through a kcp
// virtual workspace every request costs the server an authorization and a forward, and
// every hop between controllers waits for a watch event: one controller makes a first
// issuance two status writes and one reconcile instead of five and six, and its steps can
// never conflict with each other. Each step still acts only on what it sees, so any
// reconcile may stop after any write and the next one carries on.
//
// The decisions themselves are pure functions in internal/issuance.
package certificates

import (
	"context"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
	"github.com/platform-mesh/cert-manager-msp/internal/issuance"
)

// step is one concern's part of a reconcile. It changes s.crt.Status in memory (the
// reconcile writes it once, after the last step) and may write other objects itself.
type step func(ctx context.Context, s *state) (reconcile.Result, error)

// steps run in this order: a step sees what the ones before it decided.
var steps = []step{trigger, keyManager, requestManager, signing, issuing, readiness, revisionManager}

// Setup registers the Certificate controller.
func Setup(mgr mcmanager.Manager, opts controller.Options) error {
	if err := addIndexes(context.Background(), mgr); err != nil {
		return err
	}
	return controller.ControllerManagedBy(mgr, opts).
		Named(ControllerName).
		For(&cmapi.Certificate{}).
		Owns(&cmapi.CertificateRequest{}).
		Watches(&corev1.Secret{}, controller.MapInWorkspace(certificatesForSecret)).
		Complete(&reconciler{mgr: mgr, opts: opts})
}

// ControllerName names the controller in logs and metrics.
const ControllerName = "certificates"

type reconciler struct {
	mgr  mcmanager.Manager
	opts controller.Options
}

func (r *reconciler) Reconcile(ctx context.Context, req mcreconcile.Request) (reconcile.Result, error) {
	ws, err := controller.GetWorkspace(ctx, r.mgr, req.ClusterName, "cert-manager-"+ControllerName)
	if err != nil {
		return reconcile.Result{}, err
	}
	crt := &cmapi.Certificate{}
	if err := ws.Client.Get(ctx, req.NamespacedName, crt); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	s := &state{ws: ws, opts: r.opts, crt: crt, now: r.opts.Clock.Now(), written: map[string]*corev1.Secret{},
		issuingStored: cmapiutil.CertificateHasCondition(crt, issuingTrue)}
	before := crt.Status.DeepCopy()
	res, err := run(ctx, s)
	if err == nil && controller.StatusChanged(before, &crt.Status) {
		err = s.ws.Client.Status().Update(ctx, crt)
	}
	return controller.RequeueOnConflict(res, err)
}

// run runs every step and returns the soonest requeue any of them asked for. It stops at
// the first error: the status is then not written, and the retry starts over.
func run(ctx context.Context, s *state) (reconcile.Result, error) {
	var res reconcile.Result
	for _, st := range steps {
		r, err := st(ctx, s)
		if err != nil {
			return reconcile.Result{}, err
		}
		if r.RequeueAfter > 0 && (res.RequeueAfter == 0 || r.RequeueAfter < res.RequeueAfter) {
			res.RequeueAfter = r.RequeueAfter
		}
	}
	return res, nil
}

// state is a Certificate and lazily loaded views of what surrounds it.
type state struct {
	ws   *controller.Workspace
	opts controller.Options
	crt  *cmapi.Certificate
	now  time.Time
	// written holds the Secrets this reconcile has written, by name: later steps read
	// them here, since the cache may not show them yet.
	written map[string]*corev1.Secret
	// created is the CertificateRequest this reconcile has created, if any: the cache
	// does not show it yet.
	created *cmapi.CertificateRequest
	// issuingStored says Issuing=True is stored in kcp (it was in the Certificate as read,
	// or storeStatus wrote it), not just set by this reconcile's trigger.
	issuingStored bool
}

// storeStatus writes the status as it stands mid-reconcile, for a step that must not act
// before kcp holds what the steps before it decided.
func (s *state) storeStatus(ctx context.Context) error {
	if err := s.ws.Client.Status().Update(ctx, s.crt); err != nil {
		return err
	}
	s.issuingStored = cmapiutil.CertificateHasCondition(s.crt, issuingTrue)
	return nil
}

// getSecret reads a Secret of the workspace, seeing the ones this reconcile has written.
func (s *state) getSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	if w, ok := s.written[name]; ok && namespace == s.crt.Namespace {
		return w, nil
	}
	return s.ws.GetSecret(ctx, namespace, name)
}

// secret is the Certificate's Secret, or nil when it does not exist.
func (s *state) secret(ctx context.Context) (*corev1.Secret, error) {
	return s.get(ctx, s.crt.Spec.SecretName)
}

// ReasonSecretsClaimNotAccepted is Ready's reason when the workspace's binding rejects
// the secrets claim: the operator may then neither read nor write the TLS Secret.
const ReasonSecretsClaimNotAccepted = "SecretsClaimNotAccepted"

const secretsClaimMessage = "The workspace's APIBinding to cert-manager.io does not accept the permission claim on " +
	"secrets, so no TLS Secret can be read or written here. Set that claim's state to Accepted in the " +
	"APIBinding's spec.permissionClaims to have this Certificate issued."

// unclaimedRetry is how often a workspace without the secrets claim is looked at again.
const unclaimedRetry = 30 * time.Second

// liveSecret reads the Certificate's Secret from kcp rather than the cache, or nil. Through
// the virtual workspace, Forbidden means the binding has not accepted the secrets claim.
func (s *state) liveSecret(ctx context.Context) (*corev1.Secret, error) {
	return s.liveGet(ctx, s.crt.Spec.SecretName)
}

// liveGet reads the named Secret of the Certificate's namespace from kcp, or nil.
func (s *state) liveGet(ctx context.Context, name string) (*corev1.Secret, error) {
	live, err := s.ws.Live()
	if err != nil {
		return nil, err
	}
	secret := &corev1.Secret{}
	err = live.Get(ctx, client.ObjectKey{Namespace: s.crt.Namespace, Name: name}, secret)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return secret, err
}

func (s *state) get(ctx context.Context, name string) (*corev1.Secret, error) {
	if w, ok := s.written[name]; ok {
		return w, nil
	}
	secret := &corev1.Secret{}
	err := s.ws.Client.Get(ctx, client.ObjectKey{Namespace: s.crt.Namespace, Name: name}, secret)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return secret, err
}

// revision is status.revision, 0 before the first issuance.
func (s *state) revision() int {
	if s.crt.Status.Revision == nil {
		return 0
	}
	return *s.crt.Status.Revision
}

// request is the CertificateRequest of a revision, or nil.
func (s *state) request(ctx context.Context, revision int) (*cmapi.CertificateRequest, error) {
	if revision < 1 {
		return nil, nil
	}
	name, err := issuance.RequestName(s.crt, revision)
	if err != nil {
		return nil, err
	}
	if s.created != nil && s.created.Name == name {
		return s.created, nil
	}
	cr := &cmapi.CertificateRequest{}
	err = s.ws.Client.Get(ctx, client.ObjectKey{Namespace: s.crt.Namespace, Name: name}, cr)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !metav1.IsControlledBy(cr, s.crt) {
		return nil, nil // not ours: never act on a request another object owns
	}
	return cr, nil
}

// input gathers what the trigger and readiness chains look at.
func (s *state) input(ctx context.Context) (issuance.Input, error) {
	secret, err := s.secret(ctx)
	if err != nil {
		return issuance.Input{}, err
	}
	current, err := s.request(ctx, s.revision())
	if err != nil {
		return issuance.Input{}, err
	}
	return issuance.Input{Certificate: s.crt, Secret: secret, CurrentRequest: current, Now: s.now}, nil
}

// certificatesForSecret maps a managed Secret to the Certificates that name it, and a
// temporary private key Secret to the Certificate that owns it.
func certificatesForSecret(ctx context.Context, c client.Client, obj client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	for _, ref := range obj.GetOwnerReferences() {
		if ref.Kind == cmapi.CertificateKind && ref.APIVersion == cmapi.SchemeGroupVersion.String() {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Namespace: obj.GetNamespace(), Name: ref.Name}})
		}
	}
	crts, err := certificatesNaming(ctx, c, obj.GetNamespace(), obj.GetName())
	if err != nil {
		return reqs
	}
	for i := range crts {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&crts[i])})
	}
	return reqs
}
