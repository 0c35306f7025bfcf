package certificaterequests

import (
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/platform-mesh/cert-manager-msp/internal/controller"
)

func TestLeftToCertificate(t *testing.T) {
	created := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	owner := func(kind string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: "cert-manager.io/v1", Kind: kind, Name: "web", UID: "u", Controller: ptr.To(true)}}
	}
	fresh := func() *cmapi.CertificateRequest {
		return &cmapi.CertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "web-1", CreationTimestamp: metav1.NewTime(created), OwnerReferences: owner(cmapi.CertificateKind)},
			Spec:       cmapi.CertificateRequestSpec{IssuerRef: cmmeta.IssuerReference{Name: "default", Kind: cmapi.ClusterIssuerKind}},
		}
	}
	cases := []struct {
		name    string
		change  func(*cmapi.CertificateRequest, *controller.Options)
		elapsed time.Duration
		want    time.Duration
	}{
		{"a Certificate's new request waits out the grace", nil, 2 * time.Second, InlineGrace - 2*time.Second},
		{"after the grace it is settled here", nil, InlineGrace + time.Second, 0},
		{"one with any condition is settled here", func(cr *cmapi.CertificateRequest, _ *controller.Options) {
			cr.Status.Conditions = []cmapi.CertificateRequestCondition{{Type: cmapi.CertificateRequestConditionApproved, Status: cmmeta.ConditionTrue}}
		}, 0, 0},
		{"one made by hand is settled here", func(cr *cmapi.CertificateRequest, _ *controller.Options) {
			cr.OwnerReferences = nil
		}, 0, 0},
		{"one owned by something else is settled here", func(cr *cmapi.CertificateRequest, _ *controller.Options) {
			cr.OwnerReferences = owner("Ingress")
		}, 0, 0},
		{"an external issuer's request is never waited for", func(cr *cmapi.CertificateRequest, _ *controller.Options) {
			cr.Spec.IssuerRef.Group = "awspca.cert-manager.io"
		}, 0, 0},
		{"with an external approver nothing is settled inline", func(_ *cmapi.CertificateRequest, o *controller.Options) {
			o.ApproveRequests = false
		}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cr := fresh()
			opts := controller.Options{ApproveRequests: true, Clock: clocktesting.NewFakePassiveClock(created.Add(tc.elapsed))}
			if tc.change != nil {
				tc.change(cr, &opts)
			}
			if got := leftToCertificate(cr, opts); got != tc.want {
				t.Errorf("left %v, want %v", got, tc.want)
			}
		})
	}
}
