package issuance

import (
	"strconv"
	"testing"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRequestsToPrune(t *testing.T) {
	req := func(rev string) *cmapi.CertificateRequest {
		return &cmapi.CertificateRequest{ObjectMeta: metav1.ObjectMeta{Name: "r" + rev,
			Annotations: map[string]string{cmapi.CertificateRequestRevisionAnnotationKey: rev}}}
	}
	all := []*cmapi.CertificateRequest{req("3"), req("1"), req("4"), req("2"), req("x"), req("5")}
	for _, tc := range []struct {
		name    string
		limit   *int32
		current int
		want    []string
	}{
		{"default keeps only the current one", nil, 4, []string{"r1", "r2", "r3"}},
		{"limit 2", ptrInt32(2), 4, []string{"r1", "r2"}},
		{"limit above the count", ptrInt32(10), 4, nil},
		{"an in-flight request (5) is neither kept nor counted", nil, 4, []string{"r1", "r2", "r3"}},
		{"nothing issued yet", nil, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crt := certificate(func(c *cmapi.Certificate) {
				c.Spec.RevisionHistoryLimit = tc.limit
				c.Status.Revision = &tc.current
			})
			var got []string
			for _, cr := range RequestsToPrune(crt, all) {
				got = append(got, cr.Name)
			}
			if strconv.Quote(join(got)) != strconv.Quote(join(tc.want)) {
				t.Errorf("pruned %v, want %v", got, tc.want)
			}
		})
	}
}

func join(s []string) string {
	out := ""
	for _, v := range s {
		out += v + ","
	}
	return out
}
