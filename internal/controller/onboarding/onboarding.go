// Package onboarding gives every workspace that orders Certificate Manager a working
// PKI of its own: the cluster resource namespace, a SelfSigned ClusterIssuer
// "selfsigned", a root CA Certificate "default-ca" issued by it, and a CA ClusterIssuer
// "default" that signs with that root. Each workspace gets its own root of trust.
//
// The defaults are created when missing and otherwise left alone: a consumer who deletes
// one gets it back, and a consumer's own changes to one are not fought over.
package onboarding

import (
	"context"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
	mcreconcile "sigs.k8s.io/multicluster-runtime/pkg/reconcile"

	apisv1alpha1 "github.com/kcp-dev/sdk/apis/apis/v1alpha1"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
)

// Names of the default objects.
const (
	SelfSignedIssuer = "selfsigned"
	DefaultCA        = "default-ca"
	DefaultIssuer    = "default"
	fieldManager     = "cert-manager-msp-onboarding"
)

// caDuration is the default root's lifetime. Its key is never rotated (rotationPolicy
// Never), so a renewed root keeps the key and subject, and certificates issued under the
// old one still verify against the new ca.crt.
const caDuration = 10 * 365 * 24 * time.Hour

// Setup registers the onboarding controller.
func Setup(mgr mcmanager.Manager, opts controller.Options) error {
	r := &reconciler{mgr: mgr, ns: opts.ClusterResourceNamespace}
	return controller.ControllerManagedBy(mgr, opts).
		Named("onboarding").
		For(&apisv1alpha1.APIBinding{}).
		Watches(&cmapi.ClusterIssuer{}, controller.MapInWorkspace(r.bindingsIfDefault)).
		Watches(&cmapi.Certificate{}, controller.MapInWorkspace(r.bindingsIfDefault)).
		Watches(&corev1.Namespace{}, controller.MapInWorkspace(r.bindingsIfDefault)).
		Complete(r)
}

type reconciler struct {
	mgr mcmanager.Manager
	ns  string
}

// object is one default, as it is created.
type object struct {
	obj client.Object
	// after, when set, says whether the default this one builds on can serve yet. Made
	// before that, it would only fail for a moment (a root CA request pending on an
	// issuer not yet Ready, a CA issuer whose Secret does not exist), which the consumer
	// sees as warnings and kcp pays for in requests. The watch event that makes it true
	// brings the reconcile back.
	after func(ctx context.Context, c client.Reader) (bool, error)
}

// defaults are the objects every ordering workspace gets. The root CA's subject names the
// workspace's logical cluster, so that the roots of two accounts are told apart by name
// as well as by key.
func (r *reconciler) defaults(cluster string) []object {
	return []object{
		{&cmapi.ClusterIssuer{
			ObjectMeta: metav1.ObjectMeta{Name: SelfSignedIssuer},
			Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}},
		}, nil},
		{&cmapi.Certificate{
			ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: DefaultCA},
			Spec: cmapi.CertificateSpec{
				IsCA:       true,
				CommonName: "cert-manager-msp default CA",
				Subject:    &cmapi.X509Subject{OrganizationalUnits: []string{cluster}},
				SecretName: DefaultCA,
				Duration:   &metav1.Duration{Duration: caDuration},
				PrivateKey: &cmapi.CertificatePrivateKey{
					Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256, RotationPolicy: cmapi.RotationPolicyNever,
				},
				IssuerRef: cmmeta.IssuerReference{
					Name: SelfSignedIssuer, Kind: cmapi.ClusterIssuerKind, Group: cmapi.SchemeGroupVersion.Group,
				},
			},
		}, issuerReady(SelfSignedIssuer)},
		{&cmapi.ClusterIssuer{
			ObjectMeta: metav1.ObjectMeta{Name: DefaultIssuer},
			Spec:       cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: DefaultCA}}},
		}, r.caIssued},
	}
}

// issuerReady is whether the ClusterIssuer name is Ready, in the cache.
func issuerReady(name string) func(context.Context, client.Reader) (bool, error) {
	return func(ctx context.Context, c client.Reader) (bool, error) {
		ci := &cmapi.ClusterIssuer{}
		if err := c.Get(ctx, client.ObjectKey{Name: name}, ci); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return cmapiutil.IssuerHasCondition(ci, cmapi.IssuerCondition{Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionTrue}), nil
	}
}

// caIssued is whether the default root Certificate is Ready, in the cache: then its
// Secret holds the key pair, and the CA issuer that signs with it is Ready at once. (Its
// status write is the event that brings this reconcile back; the Secret's own event is
// not watched here.)
func (r *reconciler) caIssued(ctx context.Context, c client.Reader) (bool, error) {
	crt := &cmapi.Certificate{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: DefaultCA}, crt); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	return cmapiutil.CertificateHasCondition(crt, cmapi.CertificateCondition{Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionTrue}), nil
}

func (r *reconciler) Reconcile(ctx context.Context, req mcreconcile.Request) (reconcile.Result, error) {
	ws, err := controller.GetWorkspace(ctx, r.mgr, req.ClusterName, "cert-manager-msp-onboarding")
	if err != nil {
		return reconcile.Result{}, err
	}
	// The namespaces claim allows create but not patch, so the namespace is created, not applied.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns}}
	if err := ws.Client.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{}); apierrors.IsNotFound(err) {
		err = ws.Client.Create(ctx, ns)
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return reconcile.Result{}, err
		}
	} else if err != nil {
		return reconcile.Result{}, err
	}
	for _, obj := range r.defaults(string(req.ClusterName)) {
		key := client.ObjectKeyFromObject(obj.obj)
		err := ws.Client.Get(ctx, key, obj.obj.DeepCopyObject().(client.Object))
		if err == nil {
			continue // present: the consumer may have changed it, and that is theirs to do
		}
		if !apierrors.IsNotFound(err) {
			return reconcile.Result{}, err
		}
		if obj.after != nil {
			if ok, err := obj.after(ctx, ws.Client); err != nil || !ok {
				return reconcile.Result{}, err
			}
		}
		// Created, not applied: through the virtual workspace an apply acts as an update
		// (kcp v0.31), so a reconcile whose cache lags would write a default again, and
		// overwrite what a consumer did to it in the meantime. A create that finds one
		// leaves it alone.
		err = ws.Client.Create(ctx, obj.obj, client.FieldOwner(fieldManager))
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return reconcile.Result{}, err
		}
		log.FromContext(ctx).Info("Created default object", "kind", kindOf(obj.obj), "object", key)
	}
	return reconcile.Result{}, nil
}

// bindingsIfDefault maps a change to one of the defaults to the workspace's bindings,
// so that a deleted default is put back.
func (r *reconciler) bindingsIfDefault(ctx context.Context, c client.Client, obj client.Object) []reconcile.Request {
	if !r.isDefault(obj) {
		return nil
	}
	bindings := &apisv1alpha1.APIBindingList{}
	if err := c.List(ctx, bindings); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(bindings.Items))
	for _, b := range bindings.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Name: b.Name}})
	}
	return reqs
}

func (r *reconciler) isDefault(obj client.Object) bool {
	switch obj.(type) {
	case *corev1.Namespace:
		return obj.GetName() == r.ns
	case *cmapi.ClusterIssuer:
		return obj.GetName() == SelfSignedIssuer || obj.GetName() == DefaultIssuer
	case *cmapi.Certificate:
		return obj.GetNamespace() == r.ns && obj.GetName() == DefaultCA
	}
	return false
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *cmapi.ClusterIssuer:
		return cmapi.ClusterIssuerKind
	default:
		return cmapi.CertificateKind
	}
}
