package metrics

import (
	"context"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// certificates is a client.Reader that lists a fixed set of Certificates.
type certificates []cmapi.Certificate

func (c certificates) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return nil
}

func (c certificates) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	list.(*cmapi.CertificateList).Items = c
	return nil
}

func TestCollector(t *testing.T) {
	at := func(s int64) *metav1.Time { return &metav1.Time{Time: time.Unix(s, 0)} }
	ready := cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec:       cmapi.CertificateSpec{IssuerRef: cmmeta.IssuerReference{Name: "default", Kind: "ClusterIssuer", Group: "cert-manager.io"}},
		Status: cmapi.CertificateStatus{
			Conditions: []cmapi.CertificateCondition{{Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionTrue}},
			NotBefore:  at(100), NotAfter: at(400), RenewalTime: at(300),
		},
	}
	fresh := cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "new"},
		Spec: cmapi.CertificateSpec{IssuerRef: cmmeta.IssuerReference{Name: "own"}}}
	c := &CertificateCollector{Workspaces: func(context.Context) map[string]client.Reader {
		return map[string]client.Reader{"ws-a": certificates{ready}, "ws-b": certificates{fresh}}
	}}
	want := `
# HELP certmanager_certificate_expiration_timestamp_seconds The timestamp after which the certificate expires, expressed in Unix Epoch Time.
# TYPE certmanager_certificate_expiration_timestamp_seconds gauge
certmanager_certificate_expiration_timestamp_seconds{cluster="ws-a",issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="default",name="web",namespace="default"} 400
certmanager_certificate_expiration_timestamp_seconds{cluster="ws-b",issuer_group="",issuer_kind="Issuer",issuer_name="own",name="new",namespace="app"} 0
# HELP certmanager_certificate_ready_status The ready status of the certificate.
# TYPE certmanager_certificate_ready_status gauge
certmanager_certificate_ready_status{cluster="ws-a",condition="False",issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="default",name="web",namespace="default"} 0
certmanager_certificate_ready_status{cluster="ws-a",condition="True",issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="default",name="web",namespace="default"} 1
certmanager_certificate_ready_status{cluster="ws-a",condition="Unknown",issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="default",name="web",namespace="default"} 0
certmanager_certificate_ready_status{cluster="ws-b",condition="False",issuer_group="",issuer_kind="Issuer",issuer_name="own",name="new",namespace="app"} 0
certmanager_certificate_ready_status{cluster="ws-b",condition="True",issuer_group="",issuer_kind="Issuer",issuer_name="own",name="new",namespace="app"} 0
certmanager_certificate_ready_status{cluster="ws-b",condition="Unknown",issuer_group="",issuer_kind="Issuer",issuer_name="own",name="new",namespace="app"} 1
# HELP certmanager_certificate_renewal_timestamp_seconds The timestamp after which the certificate should be renewed, expressed in Unix Epoch Time.
# TYPE certmanager_certificate_renewal_timestamp_seconds gauge
certmanager_certificate_renewal_timestamp_seconds{cluster="ws-a",issuer_group="cert-manager.io",issuer_kind="ClusterIssuer",issuer_name="default",name="web",namespace="default"} 300
certmanager_certificate_renewal_timestamp_seconds{cluster="ws-b",issuer_group="",issuer_kind="Issuer",issuer_name="own",name="new",namespace="app"} 0
`
	err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"certmanager_certificate_ready_status", "certmanager_certificate_expiration_timestamp_seconds", "certmanager_certificate_renewal_timestamp_seconds")
	if err != nil {
		t.Error(err)
	}
}
