package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/kcp-dev/logicalcluster/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
	"github.com/platform-mesh/cert-manager-msp/internal/operator"
	"github.com/platform-mesh/cert-manager-msp/internal/order"
	"github.com/platform-mesh/cert-manager-msp/internal/provider"
	"github.com/platform-mesh/cert-manager-msp/test/kcpserver"
)

// Result is one run at one scale.
type Result struct {
	Workspaces int `json:"workspaces"`
	Certs      int `json:"certificates"`

	SingleP50Seconds float64 `json:"singleIssuanceP50Seconds"`

	BurstP50Seconds    float64 `json:"burstReadyP50Seconds"`
	BurstP95Seconds    float64 `json:"burstReadyP95Seconds"`
	BurstP99Seconds    float64 `json:"burstReadyP99Seconds"`
	IssuancesPerSecond float64 `json:"issuancesPerSecond"`
	WritesPerIssuance  float64 `json:"apiWritesPerIssuance"`

	OnboardingP50Seconds float64 `json:"onboardingP50Seconds"`
	OnboardingP99Seconds float64 `json:"onboardingP99Seconds"`
	// OnboardingOneP50Seconds is onboarding one workspace at a time, into an operator
	// that already serves the others.
	OnboardingOneP50Seconds float64 `json:"onboardingOneAtATimeP50Seconds"`

	RSSIdleMB      float64 `json:"operatorRSSIdleMB"`
	RSSPeakMB      float64 `json:"operatorRSSPeakMB"`
	RSSPerCertKB   float64 `json:"operatorRSSPerCertificateKB"`
	HeapIdleMB     float64 `json:"operatorLiveHeapIdleMB"`
	HeapMB         float64 `json:"operatorLiveHeapAfterBurstMB"`
	HeapPerCertKB  float64 `json:"operatorLiveHeapPerCertificateKB"`
	CPUSeconds     float64 `json:"operatorCPUSecondsBurst"`
	KCPCPUSeconds  float64 `json:"kcpCPUSecondsBurst"`
	BurstSeconds   float64 `json:"burstSeconds"`
	RestartSeconds float64 `json:"restartReconciledSeconds"`
	RestartNewCRs  int     `json:"restartNewCertificateRequests"`

	// KCPFloor is the kcp floor measured in this run, with the report's crypto floor.
	KCPFloor Floor `json:"kcpFloor"`
	// KCPRequests is what kcp served during the burst, per issuance, from every client
	// (the operator, and the benchmark's own creates and watches).
	KCPRequests []RequestCount `json:"kcpRequestsPerIssuance"`
	// KCPProfile is the file with kcp's CPU profile from the start of the burst.
	KCPProfile string `json:"kcpProfile,omitempty"`
}

// oneAtATime is how many more workspaces order one after another, after the W at once.
const oneAtATime = 5

// env is one kcp with the provider bootstrapped and one operator process.
type env struct {
	dir      string
	server   *kcpserver.Server
	admin    *rest.Config
	operator *operatorProc
}

func runScale(ctx context.Context, o options, w int) (Result, Floor, error) {
	res := Result{Workspaces: w, Certs: w * o.certs}
	var floor Floor
	e, err := startEnv(ctx, o, w)
	if err != nil {
		return res, floor, err
	}
	defer e.stop()

	fmt.Printf("W=%d: measuring the kcp floor\n", w)
	if floor, err = kcpFloor(ctx, e.admin); err != nil {
		return res, floor, err
	}
	fmt.Printf("W=%d: creating %d workspaces\n", w, w)
	accounts, err := createAccounts(ctx, e.admin, w+oneAtATime)
	if err != nil {
		return res, floor, err
	}
	all := accounts
	accounts, later := all[:w], all[w:]
	time.Sleep(3 * time.Second)
	res.RSSIdleMB = e.operator.rssMB()
	if res.HeapIdleMB, err = e.operator.liveHeapMB("idle"); err != nil {
		return res, floor, err
	}

	fmt.Printf("W=%d: ordering in all at once\n", w)
	onboarding, err := orderAll(ctx, e.admin, accounts)
	if err != nil {
		return res, floor, err
	}
	res.OnboardingP50Seconds, res.OnboardingP99Seconds = percentile(onboarding, 50), percentile(onboarding, 99)
	fmt.Printf("W=%d: ordering in %d more, one at a time\n", w, oneAtATime)
	var one []float64
	for i := range later {
		o, err := orderAll(ctx, e.admin, later[i:i+1])
		if err != nil {
			return res, floor, err
		}
		one = append(one, o...)
	}
	res.OnboardingOneP50Seconds = percentile(one, 50)

	fmt.Printf("W=%d: measuring a write through the virtual workspace\n", w)
	if floor.VWWriteP50Seconds, err = virtualWorkspaceWriteP50(ctx, e, accounts[0]); err != nil {
		return res, floor, err
	}

	fmt.Printf("W=%d: %d single issuances\n", w, o.singles)
	singles, err := issue(ctx, accounts[:1], o.singles, "ecdsa", 1, "single")
	if err != nil {
		return res, floor, err
	}
	res.SingleP50Seconds = percentile(singles.latencies, 50)

	fmt.Printf("W=%d: burst of %d x %d %s\n", w, w, o.certs, o.key)
	writes0, err := e.operator.writes()
	if err != nil {
		return res, floor, err
	}
	shardAdmin, err := e.server.ShardAdminConfig()
	if err != nil {
		return res, floor, err
	}
	probe, err := newKCPProbe(shardAdmin)
	if err != nil {
		return res, floor, err
	}
	requests0, err := probe.requests(ctx)
	if err != nil {
		return res, floor, err
	}
	profiled := make(chan error, 1)
	if o.profile > 0 {
		res.KCPProfile = filepath.Join(e.dir, "kcp-burst.pprof")
		go func() { profiled <- probe.profile(ctx, o.profile, res.KCPProfile) }()
	} else {
		profiled <- nil
	}
	cpu0, kcpCPU0 := e.operator.cpuSeconds(), cpuSeconds(e.server.PID())
	burst, err := issueWatchingRSS(ctx, e.operator, accounts, o.certs, o.key)
	if err != nil {
		return res, floor, err
	}
	// Everything counted over the burst is read as soon as it ends, before the profile
	// (which may run on) is awaited.
	res.CPUSeconds = e.operator.cpuSeconds() - cpu0
	res.KCPCPUSeconds = cpuSeconds(e.server.PID()) - kcpCPU0
	writes1, err := e.operator.writes()
	if err != nil {
		return res, floor, err
	}
	requests1, err := probe.requests(ctx)
	if err != nil {
		return res, floor, err
	}
	res.KCPRequests = perIssuance(requests0, requests1, len(burst.latencies))
	if err := <-profiled; err != nil {
		return res, floor, fmt.Errorf("kcp profile: %w", err)
	}
	res.BurstSeconds = burst.duration.Seconds()
	res.BurstP50Seconds = percentile(burst.latencies, 50)
	res.BurstP95Seconds = percentile(burst.latencies, 95)
	res.BurstP99Seconds = percentile(burst.latencies, 99)
	res.IssuancesPerSecond = float64(len(burst.latencies)) / burst.duration.Seconds()
	res.WritesPerIssuance = (writes1 - writes0) / float64(len(burst.latencies))
	res.RSSPeakMB = burst.peakRSSMB
	res.RSSPerCertKB = (burst.peakRSSMB - res.RSSIdleMB) * 1024 / float64(res.Certs)
	if res.HeapMB, err = e.operator.liveHeapMB("burst"); err != nil {
		return res, floor, err
	}
	res.HeapPerCertKB = (res.HeapMB - res.HeapIdleMB) * 1024 / float64(res.Certs)

	fmt.Printf("W=%d: restarting the operator\n", w)
	res.RestartSeconds, res.RestartNewCRs, err = restart(ctx, e, all, res.Certs+o.singles)
	return res, floor, err
}

func startEnv(ctx context.Context, o options, w int) (*env, error) {
	dir, err := filepath.Abs(filepath.Join(o.out, fmt.Sprintf("w%d", w)))
	if err != nil {
		return nil, err
	}
	_ = os.RemoveAll(dir)
	e := &env{dir: dir}
	if e.server, err = kcpserver.Start(ctx, filepath.Join(dir, "kcp")); err != nil {
		return nil, err
	}
	if e.admin, err = e.server.Config(); err != nil {
		e.stop()
		return nil, err
	}
	path := logicalcluster.NewPath(provider.WorkspacePath)
	if err := provider.Bootstrap(ctx, e.admin, provider.BootstrapOptions{Path: path, OperatorUser: kcpserver.OperatorUser}); err != nil {
		e.stop()
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "operator.kubeconfig")
	if err := e.server.WriteOperatorKubeconfig(provider.WorkspacePath, kubeconfig); err != nil {
		e.stop()
		return nil, err
	}
	if e.operator, err = startOperator(ctx, dir, kubeconfig, o.args, o.env); err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

func (e *env) stop() {
	if e.operator != nil {
		e.operator.stop()
	}
	if e.server != nil {
		_ = e.server.Stop()
	}
}

// kcpFloor measures kcp's write round trip and throughput in a workspace of its own.
func kcpFloor(ctx context.Context, admin *rest.Config) (Floor, error) {
	f := Floor{WriteConcurrency: 16}
	path := logicalcluster.NewPath("root:bench-floor")
	if err := kcp.EnsureWorkspace(ctx, admin, path, ""); err != nil {
		return f, err
	}
	c, err := kcp.NewClient(admin, path)
	if err != nil {
		return f, err
	}
	if f.WriteP50Seconds, err = writeP50(ctx, c, 300); err != nil {
		return f, err
	}
	f.WritesPerSecond, err = writeThroughput(ctx, c, f.WriteConcurrency, 5*time.Second)
	return f, err
}

// account is one consumer workspace, with the consumer's (admin) client.
type account struct {
	path   logicalcluster.Path
	client client.WithWatch
}

func createAccounts(ctx context.Context, admin *rest.Config, w int) ([]account, error) {
	accounts := make([]account, w)
	err := parallel(w, 16, func(i int) error {
		p := logicalcluster.NewPath(fmt.Sprintf("root:orgs:bench:a%04d", i))
		if err := kcp.EnsureWorkspace(ctx, admin, p, ""); err != nil {
			return err
		}
		c, err := client.NewWithWatch(kcp.ForPath(admin, p), client.Options{Scheme: operator.Scheme})
		accounts[i] = account{path: p, client: c}
		return err
	})
	return accounts, err
}

// orderAll orders in every account, 100 at a time, and returns, per account, the time from its
// binding being Bound to its ClusterIssuer "default" being Ready.
func orderAll(ctx context.Context, admin *rest.Config, accounts []account) ([]float64, error) {
	out := make([]float64, len(accounts))
	err := parallel(len(accounts), 100, func(i int) error {
		if _, err := order.Order(ctx, admin, order.Options{Workspace: accounts[i].path, Timeout: 15 * time.Minute}); err != nil {
			return err
		}
		bound := time.Now()
		// A client made before the binding remembers that cert-manager.io was not served.
		c, err := client.NewWithWatch(kcp.ForPath(admin, accounts[i].path), client.Options{Scheme: operator.Scheme})
		if err != nil {
			return err
		}
		accounts[i].client = c
		// No timeout of its own: --timeout bounds it, and 1000 accounts take minutes.
		ready, err := waitReady(ctx, c, &cmapi.ClusterIssuerList{}, "", []string{"default"})
		for meta.IsNoMatchError(err) && ctx.Err() == nil { // discovery lags Bound by a moment
			time.Sleep(200 * time.Millisecond)
			ready, err = waitReady(ctx, c, &cmapi.ClusterIssuerList{}, "", []string{"default"})
		}
		if err != nil {
			return err
		}
		out[i] = ready["default"].Sub(bound).Seconds()
		return nil
	})
	return out, err
}

// issued is what one batch of issuances took.
type issued struct {
	latencies []float64
	duration  time.Duration
	peakRSSMB float64
}

// issue creates n Certificates in each account, in `batch`-sized steps per account (1:
// one at a time), and returns each one's create-to-Ready latency.
func issue(ctx context.Context, accounts []account, n int, key string, batch int, prefix string) (issued, error) {
	var mu sync.Mutex
	var res issued
	start := time.Now()
	// Every account at once: one goroutine (and one watch) per account.
	err := parallel(len(accounts), len(accounts), func(i int) error {
		for first := 0; first < n; first += batch {
			names := []string{}
			created := map[string]time.Time{}
			for j := first; j < min(n, first+batch); j++ {
				crt := certificate(fmt.Sprintf("%s-%03d", prefix, j), key)
				if err := accounts[i].client.Create(ctx, crt); err != nil {
					return err
				}
				created[crt.Name] = time.Now()
				names = append(names, crt.Name)
			}
			// Bounded by --timeout: at 10,000 Certificates the last wait for minutes.
			ready, err := waitReady(ctx, accounts[i].client, &cmapi.CertificateList{}, "default", names)
			if err != nil {
				return fmt.Errorf("in %s: %w", accounts[i].path, err)
			}
			mu.Lock()
			for _, name := range names {
				res.latencies = append(res.latencies, ready[name].Sub(created[name]).Seconds())
			}
			mu.Unlock()
		}
		return nil
	})
	res.duration = time.Since(start)
	return res, err
}

// issueWatchingRSS is the burst: every account creates all its Certificates at once,
// while the operator's RSS is sampled.
func issueWatchingRSS(ctx context.Context, op *operatorProc, accounts []account, n int, key string) (issued, error) {
	done := make(chan struct{})
	peak := make(chan float64)
	go func() {
		max := op.rssMB()
		for {
			select {
			case <-done:
				peak <- max
				return
			case <-time.After(500 * time.Millisecond):
				if r := op.rssMB(); r > max {
					max = r
				}
			}
		}
	}()
	res, err := issue(ctx, accounts, n, key, n, "burst")
	close(done)
	res.peakRSSMB = <-peak
	return res, err
}

func certificate(name, key string) *cmapi.Certificate {
	alg, size := cmapi.ECDSAKeyAlgorithm, 256
	if key == "rsa" {
		alg, size = cmapi.RSAKeyAlgorithm, 2048
	}
	return &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: cmapi.CertificateSpec{
			SecretName: name + "-tls", DNSNames: []string{name + ".example"},
			IssuerRef:  cmmeta.IssuerReference{Kind: cmapi.ClusterIssuerKind, Name: "default"},
			PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: alg, Size: size},
		},
	}
}
