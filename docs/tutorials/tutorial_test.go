// Package tutorials holds the tutorials' helper programs and the test that runs the
// tutorials: every shell block of a page, in order, against a fresh local setup, with
// its output compared to the text block the page shows after it.
package tutorials

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFirstCertificate(t *testing.T) { runTutorial(t, "first-certificate.md") }

func TestTwoAccounts(t *testing.T) { runTutorial(t, "two-accounts.md") }

// step is one shell block and the output the page shows for it.
type step struct {
	line       int
	command    string
	expected   string
	background bool
}

func runTutorial(t *testing.T, page string) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(repo, "bin", "kcp")); err != nil {
		t.Fatalf("bin/kcp is missing: build it with `go tool task build:kcp` (%v)", err)
	}
	steps := parse(t, filepath.Join(repo, "docs", "tutorials", page))
	dir := sandbox(t, repo)
	env := append(os.Environ(), "KUBECONFIG=", "KCP_PORT="+freePort(t, 3), "MSP_METRICS_PORT="+freePort(t, 1), "MSP_HEALTH_PORT="+freePort(t, 1))
	t.Cleanup(func() {
		cmd := exec.Command("bash", "hack/local-setup.sh", "clean")
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("cleaning up the local setup: %v\n%s", err, out)
		}
	})
	envFile := filepath.Join(t.TempDir(), "env")
	for _, s := range steps {
		script := fmt.Sprintf("set -eo pipefail\n[ -f %q ] && source %q\n%s\nexport -p > %q\n", envFile, envFile, s.command, envFile)
		if s.background {
			startBackground(t, dir, env, envFile, s)
			continue
		}
		ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-c", script)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%s:%d: command failed: %v\n$ %s\n%s", page, s.line, err, s.command, out)
		}
		if err := matches(s.expected, string(out)); err != nil {
			t.Fatalf("%s:%d: the output differs from the page: %v\n$ %s\n%s", page, s.line, err, s.command, out)
		}
	}
}

// parse reads the page's fenced blocks: each ```sh block, and the ```text block that
// directly follows it, if any.
func parse(t *testing.T, path string) []step {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []step
	var block []string
	var kind string
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case kind == "" && strings.HasPrefix(line, "```"):
			kind, start, block = strings.TrimPrefix(line, "```"), n, nil
		case kind != "" && line == "```":
			body := strings.Join(block, "\n")
			switch {
			case kind == "sh" || kind == "sh background":
				steps = append(steps, step{line: start, command: body, background: kind == "sh background"})
			case kind == "text" && len(steps) > 0 && steps[len(steps)-1].expected == "":
				steps[len(steps)-1].expected = body
			}
			kind = ""
		case kind != "":
			block = append(block, line)
		}
	}
	if len(steps) == 0 {
		t.Fatalf("%s has no shell blocks", path)
	}
	return steps
}

// matches checks the output "in substance": every line the page shows appears in the
// output, in order, with runs of spaces equal and "..." standing for anything.
func matches(expected, actual string) error {
	var lines []string
	for _, l := range strings.Split(actual, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	i := 0
	for _, want := range strings.Split(expected, "\n") {
		want = strings.Join(strings.Fields(want), " ")
		if want == "" {
			continue
		}
		re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(want), `\.\.\.`, ".*") + "$")
		for i < len(lines) && !re.MatchString(lines[i]) {
			i++
		}
		if i == len(lines) {
			return fmt.Errorf("no line (after the ones before it) matches %q", want)
		}
		i++
	}
	return nil
}

// startBackground runs a long-lived command (a server) in its own process group, and
// stops it when the test ends.
func startBackground(t *testing.T, dir string, env []string, envFile string, s step) {
	cmd := exec.Command("bash", "-c", fmt.Sprintf("[ -f %q ] && source %q\nexec %s", envFile, envFile, s.command))
	cmd.Dir, cmd.Env = dir, env
	logFile, err := os.Create(filepath.Join(t.TempDir(), "background.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		logFile.Close()
	})
}

// sandbox is a directory that looks like the repository (its entries are symlinks) but
// has its own .kcp/ state and working files.
func sandbox(t *testing.T, repo string) string {
	dir := t.TempDir()
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == ".kcp" || e.Name() == ".git" {
			continue
		}
		if err := os.Symlink(filepath.Join(repo, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// freePort returns the first of n consecutive free loopback ports.
func freePort(t *testing.T, n int) string {
	for tries := 0; tries < 50; tries++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := l.Addr().(*net.TCPAddr).Port
		l.Close()
		ok := true
		for p := base + 1; p < base+n; p++ {
			if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err != nil {
				ok = false
			} else {
				l.Close()
			}
		}
		if ok {
			return strconv.Itoa(base)
		}
	}
	t.Fatal("no free ports")
	return ""
}
