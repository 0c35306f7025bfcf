package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	cmapiutil "github.com/cert-manager/cert-manager/pkg/api/util"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// waitReady watches list's kind in namespace until every one of names is Ready, and
// returns when each was first seen Ready. A watch, not polling: at a thousand
// Certificates, polling would load kcp more than the operator does.
func waitReady(ctx context.Context, c client.WithWatch, list client.ObjectList, namespace string, names []string) (map[string]time.Time, error) {
	ready := map[string]time.Time{}
	for {
		if err := c.List(ctx, list, client.InNamespace(namespace)); err != nil {
			return nil, err
		}
		collect(list, ready)
		if all(ready, names) {
			return ready, nil
		}
		w, err := c.Watch(ctx, list, client.InNamespace(namespace),
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: resourceVersion(list)}})
		if err != nil {
			return nil, err
		}
		expired := follow(ctx, w, ready, names)
		w.Stop()
		if all(ready, names) {
			return ready, nil
		}
		if !expired {
			return nil, fmt.Errorf("waiting for %v to be Ready: %w", missing(ready, names), ctx.Err())
		}
	}
}

// follow records Ready objects from w until all names are Ready, the watch ends (true:
// list and watch again), or ctx ends (false).
func follow(ctx context.Context, w watch.Interface, ready map[string]time.Time, names []string) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case ev, ok := <-w.ResultChan():
			if !ok || ev.Type == watch.Error {
				return true
			}
			if obj, ok := ev.Object.(client.Object); ok && isReady(obj) {
				if _, seen := ready[obj.GetName()]; !seen {
					ready[obj.GetName()] = time.Now()
				}
			}
			if all(ready, names) {
				return true
			}
		}
	}
}

func collect(list client.ObjectList, ready map[string]time.Time) {
	items, _ := meta.ExtractList(list)
	now := time.Now()
	for _, item := range items {
		if obj, ok := item.(client.Object); ok && isReady(obj) {
			if _, seen := ready[obj.GetName()]; !seen {
				ready[obj.GetName()] = now
			}
		}
	}
}

func isReady(obj client.Object) bool {
	switch o := obj.(type) {
	case *cmapi.Certificate:
		return cmapiutil.CertificateHasCondition(o, cmapi.CertificateCondition{Type: cmapi.CertificateConditionReady, Status: cmmeta.ConditionTrue})
	case *cmapi.ClusterIssuer:
		return cmapiutil.IssuerHasCondition(o, cmapi.IssuerCondition{Type: cmapi.IssuerConditionReady, Status: cmmeta.ConditionTrue})
	}
	return false
}

func resourceVersion(list client.ObjectList) string {
	if l, ok := list.(metav1.ListInterface); ok {
		return l.GetResourceVersion()
	}
	return ""
}

func all(ready map[string]time.Time, names []string) bool { return len(missing(ready, names)) == 0 }

func missing(ready map[string]time.Time, names []string) []string {
	var out []string
	for _, n := range names {
		if _, ok := ready[n]; !ok {
			out = append(out, n)
		}
	}
	return out
}

// parallel runs fn(0..n-1) on at most workers goroutines and returns the first error;
// after an error, no new index is started.
func parallel(n, workers int, fn func(i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return first != nil }
	var wg sync.WaitGroup
	for range min(n, workers) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && !failed(); i = int(next.Add(1) - 1) {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}

// percentile is the p-th percentile of d by the nearest-rank method; 0 for no data.
func percentile(d []float64, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	sort.Float64s(s)
	rank := int(p/100*float64(len(s))+0.999999) - 1
	return s[max(0, min(rank, len(s)-1))]
}
