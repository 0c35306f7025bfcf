// Package metrics exposes cert-manager's Certificate metrics for every engaged workspace,
// with one more label, cluster: the workspace's logical cluster name. Like cert-manager
// v1.21, they are computed from the cache when scraped, so nothing is kept per object
// and a deleted Certificate or a workspace that unbinds simply stops appearing.
package metrics

import (
	"context"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var labels = []string{"cluster", "name", "namespace", "issuer_name", "issuer_kind", "issuer_group"}

// Descriptions of the metrics, by name. The reference docs list exactly these.
var (
	ReadyStatus = prometheus.NewDesc("certmanager_certificate_ready_status",
		"The ready status of the certificate.", append(append([]string{}, labels[:3]...), append([]string{"condition"}, labels[3:]...)...), nil)
	NotAfter = prometheus.NewDesc("certmanager_certificate_not_after_timestamp_seconds",
		"The timestamp after which the certificate is invalid, expressed as a Unix Epoch Time.", labels, nil)
	NotBefore = prometheus.NewDesc("certmanager_certificate_not_before_timestamp_seconds",
		"The timestamp before which the certificate is invalid, expressed as a Unix Epoch Time.", labels, nil)
	Expiration = prometheus.NewDesc("certmanager_certificate_expiration_timestamp_seconds",
		"The timestamp after which the certificate expires, expressed in Unix Epoch Time.", labels, nil)
	Renewal = prometheus.NewDesc("certmanager_certificate_renewal_timestamp_seconds",
		"The timestamp after which the certificate should be renewed, expressed in Unix Epoch Time.", labels, nil)
)

// All lists every metric this package exports.
var All = []*prometheus.Desc{ReadyStatus, NotAfter, NotBefore, Expiration, Renewal}

// Workspaces lists the engaged workspaces and a cached client for each.
type Workspaces func(ctx context.Context) map[string]client.Reader

// CertificateCollector collects the Certificate metrics of all engaged workspaces.
type CertificateCollector struct {
	Workspaces Workspaces
}

func (c *CertificateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range All {
		ch <- d
	}
}

func (c *CertificateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for cluster, reader := range c.Workspaces(ctx) {
		list := &cmapi.CertificateList{}
		if err := reader.List(ctx, list); err != nil {
			continue
		}
		for i := range list.Items {
			collect(ch, cluster, &list.Items[i])
		}
	}
}

func collect(ch chan<- prometheus.Metric, cluster string, crt *cmapi.Certificate) {
	ref := crt.Spec.IssuerRef
	values := []string{cluster, crt.Name, crt.Namespace, ref.Name, cmapiutil.IssuerKind(ref), ref.Group}
	ready := cmapiutil.GetCertificateCondition(crt, cmapi.CertificateConditionReady)
	for _, status := range []cmmeta.ConditionStatus{cmmeta.ConditionTrue, cmmeta.ConditionFalse, cmmeta.ConditionUnknown} {
		v := 0.0
		if (ready != nil && ready.Status == status) || (ready == nil && status == cmmeta.ConditionUnknown) {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(ReadyStatus, prometheus.GaugeValue, v,
			append(append([]string{}, values[:3]...), append([]string{string(status)}, values[3:]...)...)...)
	}
	for desc, t := range map[*prometheus.Desc]*metav1.Time{
		NotAfter: crt.Status.NotAfter, NotBefore: crt.Status.NotBefore, Expiration: crt.Status.NotAfter, Renewal: crt.Status.RenewalTime,
	} {
		v := 0.0
		if t != nil {
			v = float64(t.Unix())
		}
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, values...)
	}
}
