package controller

import (
	"errors"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestStatusChanged(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
	base := cmapi.CertificateRequestStatus{
		Certificate: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
		CA:          []byte("ca"),
		Conditions: []cmapi.CertificateRequestCondition{{
			Type: cmapi.CertificateRequestConditionReady, Status: cmmeta.ConditionTrue, Reason: "Issued", LastTransitionTime: &at,
		}},
	}
	for name, tc := range map[string]struct {
		change func(s *cmapi.CertificateRequestStatus)
		want   bool
	}{
		"an untouched copy":           {func(*cmapi.CertificateRequestStatus) {}, false},
		"one byte of the certificate": {func(s *cmapi.CertificateRequestStatus) { s.Certificate[30] = 'B' }, true},
		"the CA removed":              {func(s *cmapi.CertificateRequestStatus) { s.CA = nil }, true},
		"a condition's reason":        {func(s *cmapi.CertificateRequestStatus) { s.Conditions[0].Reason = "Failed" }, true},
		"a failure time set":          {func(s *cmapi.CertificateRequestStatus) { s.FailureTime = &at }, true},
		"the same instant in another zone": {func(s *cmapi.CertificateRequestStatus) {
			s.Conditions[0].LastTransitionTime = &metav1.Time{Time: at.In(time.FixedZone("x", 3600))}
		}, false},
		"the CA emptied": {func(s *cmapi.CertificateRequestStatus) { s.CA = []byte{} }, true},
	} {
		t.Run(name, func(t *testing.T) {
			after := base.DeepCopy()
			tc.change(after)
			if got := StatusChanged(&base, after); got != tc.want {
				t.Errorf("StatusChanged = %v, want %v", got, tc.want)
			}
		})
	}
	noCA := base.DeepCopy()
	noCA.CA = nil
	emptyCA := noCA.DeepCopy()
	emptyCA.CA = []byte{}
	if StatusChanged(noCA, emptyCA) {
		t.Error("nil and empty bytes differ; equality.Semantic treats them as equal")
	}
}

// BenchmarkStatusChanged compares StatusChanged with equality.Semantic on a request's
// status the size of an issued ECDSA certificate and its CA.
func BenchmarkStatusChanged(b *testing.B) {
	s := &cmapi.CertificateRequestStatus{Certificate: make([]byte, 1100), CA: make([]byte, 600)}
	c := s.DeepCopy()
	b.Run("StatusChanged", func(b *testing.B) {
		for b.Loop() {
			StatusChanged(s, c)
		}
	})
	b.Run("equality.Semantic", func(b *testing.B) {
		for b.Loop() {
			equality.Semantic.DeepEqual(s, c)
		}
	})
}

func TestRequeueOnConflict(t *testing.T) {
	gr := schema.GroupResource{Group: "cert-manager.io", Resource: "clusterissuers"}
	conflict := apierrors.NewConflict(gr, "default", errors.New("the object has been modified"))
	if res, err := RequeueOnConflict(reconcile.Result{}, conflict); err != nil || res.RequeueAfter <= 0 {
		t.Errorf("a conflict: got %+v, %v; want a requeue and no error", res, err)
	}
	other := apierrors.NewForbidden(gr, "default", errors.New("no"))
	if _, err := RequeueOnConflict(reconcile.Result{}, other); err != other {
		t.Errorf("another error: got %v, want it passed through", err)
	}
	want := reconcile.Result{RequeueAfter: time.Hour}
	if res, err := RequeueOnConflict(want, nil); err != nil || res != want {
		t.Errorf("success: got %+v, %v; want %+v passed through", res, err, want)
	}
}
