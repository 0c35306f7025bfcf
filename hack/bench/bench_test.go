package main

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
)

func TestPercentileIsNearestRank(t *testing.T) {
	d := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for p, want := range map[float64]float64{50: 5, 95: 10, 99: 10, 10: 1, 100: 10} {
		if got := percentile(d, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("no data should give 0")
	}
	if d[0] != 5 {
		t.Error("percentile sorted its input in place")
	}
}

func TestParallelRunsEachIndexOnceAndReportsAnError(t *testing.T) {
	var seen [100]atomic.Int32
	if err := parallel(100, 7, func(i int) error { seen[i].Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	for i := range seen {
		if seen[i].Load() != 1 {
			t.Fatalf("index %d ran %d times", i, seen[i].Load())
		}
	}
	// Errors of different types from several workers: the first is kept, nothing panics.
	boom := errors.New("boom")
	err := parallel(10, 10, func(i int) error {
		if i%2 == 0 {
			return boom
		}
		return fmt.Errorf("wrapped: %w", boom)
	})
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want boom", err)
	}
}

func TestSumAddsMatchingSamples(t *testing.T) {
	m := map[string]float64{
		`rest_client_requests_total{code="201",host="h",method="POST"}`: 3,
		`rest_client_requests_total{code="200",host="h",method="GET"}`:  100,
		`rest_client_requests_total{code="200",host="h",method="PUT"}`:  2,
		`workqueue_depth{name="certificates"}`:                          1,
	}
	if got := sum(m, "rest_client_requests_total{", `method="POST"`, `method="PUT"`); got != 5 {
		t.Errorf("writes = %v, want 5", got)
	}
}

func TestKCPRequestsPerIssuance(t *testing.T) {
	m, err := parseMetrics(strings.NewReader(`# HELP apiserver_request_total x
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="secrets",scope="namespace",subresource="",verb="POST",version="v1"} 30
apiserver_request_total{code="200",component="apiserver",dry_run="",group="cert-manager.io",resource="certificates",scope="namespace",subresource="status",verb="PUT",version="v1"} 12
apiserver_request_total{code="409",component="apiserver",dry_run="",group="cert-manager.io",resource="certificates",scope="namespace",subresource="status",verb="PUT",version="v1"} 2
`))
	if err != nil {
		t.Fatal(err)
	}
	sample := `apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="secrets",scope="namespace",subresource="",verb="POST",version="v1"}`
	if m[sample] != 30 || label(sample, "resource") != "secrets" || label(sample, "subresource") != "" || label(sample, "source") != "" {
		t.Fatalf("parsed %v; resource label %q", m, label(sample, "resource"))
	}
	before := map[string]float64{"POST secrets": 10, "PUT certificates/status": 4}
	after := map[string]float64{"POST secrets": 30, "PUT certificates/status": 14, "GET namespaces": 0.4}
	got := perIssuance(before, after, 10)
	want := []RequestCount{{"POST secrets", 2}, {"PUT certificates/status", 1}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("perIssuance = %v, want %v", got, want)
	}
}
