package e2e

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

	"github.com/kcp-dev/logicalcluster/v3"

	"github.com/platform-mesh/cert-manager-msp/internal/kcp"
)

// operatorBinary builds cmd/cert-manager-msp once per test run.
var operatorBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "cert-manager-msp-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "cert-manager-msp")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/cert-manager-msp").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// operatorProcess is the real operator binary, run as production runs it: a kubeconfig
// for the provider workspace and flags.
type operatorProcess struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startOperatorProcess runs the operator against the provider workspace at path until
// the test ends; it is stopped by its PID.
func startOperatorProcess(t *testing.T, name string, path logicalcluster.Path, args ...string) *operatorProcess {
	t.Helper()
	bin, err := operatorBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := kcp.WriteKubeconfig(kcpServer.KubeconfigPath(), path, kubeconfig); err != nil {
		t.Fatal(err)
	}
	p := &operatorProcess{name: name, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
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
			t.Logf("log of %s:\n%s", p.name, p.output())
		}
	})
	return p
}

func (p *operatorProcess) signal(sig syscall.Signal) { _ = p.cmd.Process.Signal(sig) }

// kill ends the process with SIGKILL, as a node failure or the OOM killer would.
func (p *operatorProcess) kill(t *testing.T) {
	t.Helper()
	p.signal(syscall.SIGKILL)
	<-p.done
}

func (p *operatorProcess) output() string {
	raw, _ := os.ReadFile(p.log)
	return string(raw)
}

var instanceLine = regexp.MustCompile(`"instanceID": "([^"]+)"|instanceID":"([^"]+)"`)

// instanceID is what the process stamps on the Secrets it issues, read from its log.
func (p *operatorProcess) instanceID(t *testing.T) string {
	t.Helper()
	var id string
	eventually(t, 30*time.Second, p.name+" logs its instance ID", func(context.Context) error {
		m := instanceLine.FindStringSubmatch(p.output())
		if m == nil {
			return fmt.Errorf("not yet")
		}
		id = m[1] + m[2]
		return nil
	})
	return id
}

// leads reports whether the process has acquired the leader election Lease.
func (p *operatorProcess) leads() bool {
	return strings.Contains(strings.ToLower(p.output()), "successfully acquired lease")
}
