package certificates

import (
	"context"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mcmanager "sigs.k8s.io/multicluster-runtime/pkg/manager"
)

// Field indexes on the operator's cache. Without them, finding a Certificate's Secret
// sharers, its requests or its next-key Secrets lists the whole namespace, once per
// reconcile and once per Secret event: with 100 Certificates in a namespace, a restart
// deep-copies each of them about 200 times.
const (
	// secretNameField indexes Certificates by spec.secretName.
	secretNameField = "spec.secretName"
	// controllerField indexes CertificateRequests and Secrets by the name of the
	// Certificate that controls them.
	controllerField = ".metadata.controller"
)

// addIndexes registers the indexes with the manager, which adds them to every
// workspace's cache as it is engaged.
func addIndexes(ctx context.Context, mgr mcmanager.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &cmapi.Certificate{}, secretNameField, func(o client.Object) []string {
		return []string{o.(*cmapi.Certificate).Spec.SecretName}
	}); err != nil {
		return err
	}
	for _, obj := range []client.Object{&cmapi.CertificateRequest{}, &corev1.Secret{}} {
		if err := idx.IndexField(ctx, obj, controllerField, controllingCertificate); err != nil {
			return err
		}
	}
	return nil
}

func controllingCertificate(o client.Object) []string {
	if ref := metav1.GetControllerOf(o); ref != nil && ref.Kind == cmapi.CertificateKind {
		return []string{ref.Name}
	}
	return nil
}

// certificatesNaming lists the Certificates of a namespace whose spec.secretName is name.
func certificatesNaming(ctx context.Context, c client.Reader, namespace, name string) ([]cmapi.Certificate, error) {
	list := &cmapi.CertificateList{}
	err := c.List(ctx, list, client.InNamespace(namespace), client.MatchingFields{secretNameField: name})
	return list.Items, err
}

// listControlledBy lists into list the objects of crt's namespace whose controller is a
// Certificate named like crt. The name may be an earlier Certificate's: callers check
// the UID with metav1.IsControlledBy.
func listControlledBy(ctx context.Context, c client.Reader, list client.ObjectList, crt *cmapi.Certificate, opts ...client.ListOption) error {
	return c.List(ctx, list, append(opts, client.InNamespace(crt.Namespace), client.MatchingFields{controllerField: crt.Name})...)
}
