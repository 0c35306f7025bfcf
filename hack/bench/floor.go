package main

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cert-manager/cert-manager/pkg/util/pki"
	"github.com/kcp-dev/logicalcluster/v3"
	corev1alpha1 "github.com/kcp-dev/sdk/apis/core/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
	"github.com/platform-mesh/cert-manager-msp/internal/operator"
	"github.com/platform-mesh/cert-manager-msp/internal/provider"
)

// Floor is what the machine and kcp allow at best, measured in the same run.
type Floor struct {
	ECDSASeconds     float64 `json:"ecdsaP256KeyAndSignSeconds"`
	RSASeconds       float64 `json:"rsa2048KeyAndSignSeconds"`
	WriteP50Seconds  float64 `json:"kcpWriteP50Seconds"`
	WritesPerSecond  float64 `json:"kcpWritesPerSecond16Writers"`
	WriteConcurrency int     `json:"writeConcurrency"`
	// VWWriteP50Seconds is the same sequential Secret create, made as the operator makes
	// its writes: with its identity, through the APIExport's virtual workspace, into a
	// consumer workspace. It is measured in each run, once the first account is bound.
	VWWriteP50Seconds float64 `json:"virtualWorkspaceWriteP50Seconds"`
}

// cryptoCost is the mean cost of one key generation plus one signature by a CA, the
// work one issuance cannot avoid.
func cryptoCost(rsa bool, n int) (float64, error) {
	caKey, err := pki.GenerateECPrivateKey(256)
	if err != nil {
		return 0, err
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "floor"}, IsCA: true,
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	start := time.Now()
	for i := range n {
		var pub any
		if rsa {
			k, err := pki.GenerateRSAPrivateKey(2048)
			if err != nil {
				return 0, err
			}
			pub = k.Public()
		} else {
			k, err := pki.GenerateECPrivateKey(256)
			if err != nil {
				return 0, err
			}
			pub = k.Public()
		}
		leaf := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: "leaf"},
			DNSNames: []string{"leaf.example"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		if _, _, err := pki.SignCertificate(leaf, ca, pub, caKey); err != nil {
			return 0, err
		}
	}
	return time.Since(start).Seconds() / float64(n), nil
}

// writeP50 creates n Secrets one after another and returns the median round trip.
func writeP50(ctx context.Context, c client.Client, n int) (float64, error) {
	var d []float64
	for i := range n {
		start := time.Now()
		if err := c.Create(ctx, floorSecret(fmt.Sprintf("seq-%d", i))); err != nil {
			return 0, err
		}
		d = append(d, time.Since(start).Seconds())
	}
	return percentile(d, 50), nil
}

// writeThroughput creates Secrets from `writers` goroutines for duration and returns
// writes per second.
func writeThroughput(ctx context.Context, c client.Client, writers int, duration time.Duration) (float64, error) {
	var count atomic.Int64
	var firstErr atomic.Value
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				if err := c.Create(ctx, floorSecret(fmt.Sprintf("par-%d-%d", w, i))); err != nil {
					if ctx.Err() == nil {
						firstErr.CompareAndSwap(nil, err)
					}
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(count.Load()) / time.Since(start).Seconds(), nil
}

func floorSecret(name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Data: map[string][]byte{"tls.crt": make([]byte, 700), "tls.key": make([]byte, 240)}}
}

// virtualWorkspaceWriteP50 is writeP50 as the operator writes: with its identity, through
// the APIExport's virtual workspace, into a bound account. Each of the operator's writes
// costs this, not the direct write above; the Secrets are removed afterwards.
func virtualWorkspaceWriteP50(ctx context.Context, e *env, a account) (float64, error) {
	vw, err := virtualWorkspaceClient(ctx, e, a)
	if err != nil {
		return 0, err
	}
	p50, err := writeP50(ctx, vw, 100)
	if err != nil {
		return 0, fmt.Errorf("writing through the virtual workspace: %w", err)
	}
	for i := range 100 {
		if err := vw.Delete(ctx, floorSecret(fmt.Sprintf("seq-%d", i))); err != nil {
			return 0, err
		}
	}
	return p50, nil
}

// virtualWorkspaceClient reaches account a as the operator does.
func virtualWorkspaceClient(ctx context.Context, e *env, a account) (client.Client, error) {
	prov, err := kcp.NewClient(e.admin, logicalcluster.NewPath(provider.WorkspacePath))
	if err != nil {
		return nil, err
	}
	url, err := provider.VirtualWorkspaceURL(ctx, prov)
	if err != nil {
		return nil, err
	}
	lc := &corev1alpha1.LogicalCluster{}
	if err := a.client.Get(ctx, client.ObjectKey{Name: corev1alpha1.LogicalClusterName}, lc); err != nil {
		return nil, err
	}
	cfg, err := e.server.OperatorConfig()
	if err != nil {
		return nil, err
	}
	cfg.Host = url + "/clusters/" + logicalcluster.From(lc).String()
	return client.New(cfg, client.Options{Scheme: operator.Scheme})
}
