// Package kcpserver runs a real kcp server process for tests: the binary the project
// builds into bin/kcp, on loopback, on free ports, with its state in a temporary
// directory. It does not depend on *testing.T, so one server can be shared by a whole
// test package from TestMain, and it can be stopped and restarted on the same state.
package kcpserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	sdkserver "github.com/kcp-dev/sdk/testing/server"
)

// OperatorUser is a user that kcp knows by a static token, which stays valid across
// restarts (kcp's own admin token does not). It belongs to no group beyond
// system:authenticated, so it may do only what RBAC grants it: the identity an operator
// runs as in tests.
const OperatorUser = "cert-manager-msp-operator"

// Server is one running kcp process.
type Server struct {
	// Dir holds the server's state (root/), its log (kcp.log), admin.kubeconfig and the
	// static token file (tokens.csv).
	Dir           string
	operatorToken string
	args          []string
	bin           string
	cmd           *exec.Cmd
	done          chan struct{}
}

// Start runs kcp with its state under dir (created if missing) and waits until it is
// ready. The caller must Stop it.
func Start(ctx context.Context, dir string) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	token, err := writeTokenFile(filepath.Join(dir, "tokens.csv"))
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, bin: bin, operatorToken: token, args: []string{
		"start",
		"--token-auth-file=" + filepath.Join(dir, "tokens.csv"),
		"--root-directory=" + filepath.Join(dir, "root"),
		"--kubeconfig-path=" + filepath.Join(dir, "admin.kubeconfig"),
		"--bind-address=127.0.0.1",
		"--secure-port=" + ports[0],
		"--embedded-etcd-client-port=" + ports[1],
		"--embedded-etcd-peer-port=" + ports[2],
	}}
	return s, s.run(ctx)
}

// writeTokenFile gives OperatorUser a random token, in kcp's (Kubernetes') token file format.
func writeTokenFile(path string) (string, error) {
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := hex.EncodeToString(raw)
	line := fmt.Sprintf("%s,%s,%s\n", token, OperatorUser, OperatorUser)
	return token, os.WriteFile(path, []byte(line), 0o600)
}

// OperatorConfig returns OperatorUser's credentials, without a workspace path, trusting
// kcp's serving certificate as the admin kubeconfig does. They survive Restart.
func (s *Server) OperatorConfig() (*rest.Config, error) {
	admin, err := s.Config()
	if err != nil {
		return nil, err
	}
	return &rest.Config{Host: admin.Host, BearerToken: s.operatorToken, TLSClientConfig: rest.TLSClientConfig{
		CAData: admin.CAData, CAFile: admin.CAFile, ServerName: admin.ServerName, Insecure: admin.Insecure,
	}, QPS: -1}, nil
}

// WriteOperatorKubeconfig writes a kubeconfig for OperatorUser whose server is the
// workspace at path.
func (s *Server) WriteOperatorKubeconfig(path, out string) error {
	cfg, err := s.OperatorConfig()
	if err != nil {
		return err
	}
	cluster := clientcmdapi.NewCluster()
	cluster.Server = strings.TrimSuffix(cfg.Host, "/") + "/clusters/" + path
	cluster.CertificateAuthorityData, cluster.CertificateAuthority = cfg.CAData, cfg.CAFile
	cluster.TLSServerName, cluster.InsecureSkipTLSVerify = cfg.ServerName, cfg.Insecure
	kc := clientcmdapi.NewConfig()
	kc.Clusters["workspace"] = cluster
	kc.AuthInfos["operator"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["workspace"] = &clientcmdapi.Context{Cluster: "workspace", AuthInfo: "operator"}
	kc.CurrentContext = "workspace"
	return clientcmd.WriteToFile(*kc, out)
}

// PID is the running kcp process's, for tools that measure its CPU and memory.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// KubeconfigPath is kcp's admin kubeconfig.
func (s *Server) KubeconfigPath() string { return filepath.Join(s.Dir, "admin.kubeconfig") }

// Config returns admin credentials for kcp. Its host has no workspace path; scope it
// with kcp.ForPath.
func (s *Server) Config() (*rest.Config, error) { return s.contextConfig("base") }

// ShardAdminConfig returns the shard admin's (system:masters) credentials, for what
// only the shard serves: /metrics and /debug/pprof.
func (s *Server) ShardAdminConfig() (*rest.Config, error) { return s.contextConfig("shard-base") }

func (s *Server) contextConfig(name string) (*rest.Config, error) {
	raw, err := clientcmd.LoadFromFile(s.KubeconfigPath())
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, name, nil, nil).ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = -1, 0 // tests measure kcp, not client-side throttling
	return cfg, nil
}

// Stop ends the server: SIGTERM to its process group, SIGKILL after 30s.
func (s *Server) Stop() error {
	if s.cmd == nil {
		return nil
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	s.cmd = nil
	return nil
}

// Restart stops the server and starts it again on the same state and ports. kcp issues a
// new admin token when it starts: take Config again afterwards.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.run(ctx)
}

func (s *Server) run(ctx context.Context) error {
	// kcp writes a new admin kubeconfig (with a new token) at every start; wait for that
	// one. The old file must stay: kcp reads the shard admin's token back from it.
	previous, err := os.ReadFile(s.KubeconfigPath())
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(s.Dir, "kcp.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so Stop reaches every child and a test's ^C does not.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	if err := s.waitReady(ctx, previous); err != nil {
		_ = s.Stop()
		return fmt.Errorf("%w (log: %s)", err, filepath.Join(s.Dir, "kcp.log"))
	}
	return nil
}

func (s *Server) waitReady(ctx context.Context, previous []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for {
		if raw, err := os.ReadFile(s.KubeconfigPath()); err == nil && len(raw) > 0 && !bytes.Equal(raw, previous) {
			break
		}
		select {
		case <-s.done:
			return errors.New("kcp exited during startup")
		case <-ctx.Done():
			return fmt.Errorf("kcp wrote no kubeconfig: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	if err := sdkserver.WaitForReady(ctx, cfg); err != nil {
		return err
	}
	return waitForTenancyAPI(ctx, cfg)
}

// waitForTenancyAPI waits until the root workspace serves workspaces: kcp reports ready
// a little before discovery does.
func waitForTenancyAPI(ctx context.Context, cfg *rest.Config) error {
	root := rest.CopyConfig(cfg)
	root.Host = strings.TrimSuffix(root.Host, "/") + "/clusters/root"
	dc, err := discovery.NewDiscoveryClientForConfig(root)
	if err != nil {
		return err
	}
	for {
		if _, err := dc.ServerResourcesForGroupVersion("tenancy.kcp.io/v1alpha1"); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kcp does not serve tenancy.kcp.io/v1alpha1: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Binary is $KCP_BINARY, or bin/kcp at the repository root.
func Binary() (string, error) {
	if bin := os.Getenv("KCP_BINARY"); bin != "" {
		return bin, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if raw, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.HasPrefix(string(raw), "module github.com/platform-mesh/cert-manager-msp\n") {
			bin := filepath.Join(dir, "bin", "kcp")
			if _, err := os.Stat(bin); err != nil {
				return "", fmt.Errorf("%s is missing: build it with `go tool task build:kcp`", bin)
			}
			return bin, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root not found; set KCP_BINARY")
		}
		dir = parent
	}
}

func freePorts(n int) ([]string, error) {
	var ports []string
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	return ports, nil
}
