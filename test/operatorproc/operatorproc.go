// Package operatorproc runs the real operator binary in tests, as production runs it: a
// kubeconfig for the provider workspace and flags. Tests use it for what an in-process
// manager cannot show: several replicas, SIGKILL, and credentials other than kcp admin.
package operatorproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// binary builds cmd/cert-manager-msp once per test binary.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "cert-manager-msp-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "cert-manager-msp")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/platform-mesh/cert-manager-msp/cmd/cert-manager-msp")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// Process is one running operator.
type Process struct {
	Name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// Start runs the operator with kubeconfig until the test ends; it is stopped by its PID
// (SIGTERM, then SIGKILL after 30s). Metrics and health endpoints are off.
func Start(t *testing.T, name, kubeconfig string, args ...string) *Process {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{Name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--kubeconfig=" + kubeconfig, "--metrics-bind-address=0", "--health-probe-bind-address=0"}, args...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); logFile.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			p.signal(syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("log of %s (last 60 lines):\n%s", p.Name, tail(p.Output(), 60))
		}
	})
	return p
}

func (p *Process) signal(sig syscall.Signal) { _ = p.cmd.Process.Signal(sig) }

// Kill ends the process with SIGKILL, as a node failure or the OOM killer would, and
// waits until it is gone.
func (p *Process) Kill() {
	p.signal(syscall.SIGKILL)
	<-p.done
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Output is what the process has logged so far.
func (p *Process) Output() string {
	raw, _ := os.ReadFile(p.log)
	return string(raw)
}

// LogPath is the file the process logs to.
func (p *Process) LogPath() string { return p.log }

var instanceLine = regexp.MustCompile(`"instanceID":\s*"([^"]+)"`)

// InstanceID is what the process stamps on the Secrets it issues, read from its log.
func (p *Process) InstanceID(t *testing.T) string {
	t.Helper()
	var id string
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		if m := instanceLine.FindStringSubmatch(p.Output()); m != nil {
			id = m[1]
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("%s logged no instance ID: %v", p.Name, err)
	}
	return id
}

// Leads reports whether the process has acquired the leader election Lease.
func (p *Process) Leads() bool {
	return strings.Contains(strings.ToLower(p.Output()), "successfully acquired lease")
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
