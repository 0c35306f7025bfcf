package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/platform-mesh/cert-manager-msp/internal/controller/certificates"
)

// operatorProc is the real operator binary, run with the operator user's kubeconfig.
type operatorProc struct {
	cmd         *exec.Cmd
	done        chan struct{}
	metricsURL  string
	pprofURL    string
	bin, dir    string
	kubeconfig  string
	args, env   []string
	generations int
}

func startOperator(ctx context.Context, dir, kubeconfig string, args, env []string) (*operatorProc, error) {
	bin := filepath.Join(dir, "cert-manager-msp")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/cert-manager-msp")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	p := &operatorProc{bin: bin, dir: dir, kubeconfig: kubeconfig, args: args, env: env}
	return p, p.start(ctx)
}

func (p *operatorProc) start(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	pprofPort, err := freePort()
	if err != nil {
		return err
	}
	p.metricsURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	p.pprofURL = fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", pprofPort)
	log, err := os.Create(filepath.Join(p.dir, fmt.Sprintf("operator-%d.log", p.generations)))
	if err != nil {
		return err
	}
	p.generations++
	args := append([]string{"--kubeconfig=" + p.kubeconfig, fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", port),
		"--health-probe-bind-address=0", "--zap-log-level=error",
		fmt.Sprintf("--pprof-bind-address=127.0.0.1:%d", pprofPort)}, p.args...)
	p.cmd = exec.Command(p.bin, args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.done = make(chan struct{})
	go func() { _ = p.cmd.Wait(); log.Close(); close(p.done) }()
	for ctx.Err() == nil {
		if _, err := p.metrics(); err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("the operator exited; see %s", log.Name())
		case <-time.After(200 * time.Millisecond):
		}
	}
	return ctx.Err()
}

// stop ends the process with SIGTERM (SIGKILL after 30s) and waits for it.
func (p *operatorProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// rssMB is the process's resident set size from /proc.
func (p *operatorProc) rssMB() float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// liveHeapMB is the operator's heap after a full garbage collection (pprof's heap
// profile with gc=1 runs one): what its caches and queues hold, without the garbage
// and headroom that RSS also counts. The heap profile itself is kept in the run's
// directory as operator-heap-<label>.pprof.
func (p *operatorProc) liveHeapMB(label string) (float64, error) {
	resp, err := http.Get(p.pprofURL + "/heap?gc=1")
	if err != nil {
		return 0, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(p.dir, "operator-heap-"+label+".pprof"), raw, 0o644); err != nil {
		return 0, err
	}
	m, err := p.metrics()
	if err != nil {
		return 0, err
	}
	return m["go_memstats_heap_alloc_bytes"] / (1 << 20), nil
}

// cpuProfile writes the operator's CPU profile over d to operator-cpu-<label>.pprof.
func (p *operatorProc) cpuProfile(d time.Duration, label string) error {
	resp, err := http.Get(fmt.Sprintf("%s/profile?seconds=%d", p.pprofURL, int(d.Seconds())))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(p.dir, "operator-cpu-"+label+".pprof"), raw, 0o644)
}

// cpuSeconds is the process's user plus system CPU time from /proc.
func (p *operatorProc) cpuSeconds() float64 { return cpuSeconds(p.cmd.Process.Pid) }

// cpuSeconds is a process's user plus system CPU time from /proc.
func cpuSeconds(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// metrics returns the operator's Prometheus samples: name{labels} -> value.
func (p *operatorProc) metrics() (map[string]float64, error) {
	resp, err := http.Get(p.metricsURL)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return parseMetrics(resp.Body)
}

// writes counts the operator's API writes so far (client-go's rest_client_requests_total
// for POST, PUT, PATCH and DELETE).
func (p *operatorProc) writes() (float64, error) {
	m, err := p.metrics()
	if err != nil {
		return 0, err
	}
	return sum(m, "rest_client_requests_total{", `method="POST"`, `method="PUT"`, `method="PATCH"`, `method="DELETE"`), nil
}

// sum adds the samples of a metric whose labels contain any of anyOf.
func sum(m map[string]float64, prefix string, anyOf ...string) float64 {
	var total float64
	for k, v := range m {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		for _, want := range anyOf {
			if strings.Contains(k, want) {
				total += v
				break
			}
		}
	}
	return total
}

// restart stops the operator, starts it again, and returns how long until it has
// reconciled every Certificate with empty work queues, and how many CertificateRequests
// appeared meanwhile (there should be none: everything was Ready).
func restart(ctx context.Context, e *env, accounts []account, certs int) (float64, int, error) {
	before, err := countRequests(ctx, accounts)
	if err != nil {
		return 0, 0, err
	}
	e.operator.stop()
	start := time.Now()
	if err := e.operator.start(ctx); err != nil {
		return 0, 0, err
	}
	// What the restarted operator spends its first 20 s on.
	go func() {
		if err := e.operator.cpuProfile(20*time.Second, "restart"); err != nil {
			fmt.Fprintf(os.Stderr, "restart CPU profile: %v\n", err)
		}
	}()
	want := float64(certs + len(accounts)) // and each account's default CA
	// Poll every 2 s, not faster: the operator's /metrics carries seven series per
	// Certificate (as cert-manager's does), so at 10,000 Certificates one scrape costs
	// it about 90 ms of CPU, and polling 4 times a second took 40% of its CPU.
	for {
		m, err := e.operator.metrics()
		// The controller's name, not a copy of it: a copy went stale once already, and the
		// queue then looked empty at once.
		if err == nil && sum(m, "controller_runtime_reconcile_total{", `controller="`+certificates.ControllerName+`"`) >= want &&
			sum(m, "workqueue_depth{", `name="`+certificates.ControllerName+`"`) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return 0, 0, fmt.Errorf("waiting for the restarted operator: %w", ctx.Err())
		case <-time.After(restartPoll):
		}
	}
	took := time.Since(start).Seconds()
	time.Sleep(5 * time.Second) // let anything the restart started show up
	after, err := countRequests(ctx, accounts)
	return took, after - before, err
}

// restartPoll is how often the restart's end is looked for, so its resolution.
const restartPoll = 2 * time.Second

func countRequests(ctx context.Context, accounts []account) (int, error) {
	counts := make([]int, len(accounts))
	err := parallel(len(accounts), 32, func(i int) error {
		list := &cmapi.CertificateRequestList{}
		err := accounts[i].client.List(ctx, list, client.InNamespace("default"))
		counts[i] = len(list.Items)
		return err
	})
	total := 0
	for _, n := range counts {
		total += n
	}
	return total, err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
