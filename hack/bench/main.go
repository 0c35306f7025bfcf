// Command bench measures issuance by the real operator binary against a real local kcp,
// next to the floor the same machine and kcp allow in the same run: crypto cost, a kcp
// write round trip, and kcp write throughput. It prints a table of each figure and its
// ratio to the floor, and writes the results as JSON and a plot as SVG.
//
//	go tool task bench                       # W=100 workspaces, C=10 ECDSA Certificates each
//	go tool task bench -- --key rsa          # the same with RSA-2048
//	go tool task bench:scaling               # W = 10, 100, 500
//	go tool task bench:large                 # 1000 x 10
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"k8s.io/klog/v2"
)

type options struct {
	scales  []int
	certs   int
	key     string
	singles int
	out     string
	timeout time.Duration
	profile time.Duration // kcp CPU profile at the start of the burst; 0: none
	args    []string      // extra operator flags
	env     []string      // extra operator environment, KEY=VALUE
}

func main() {
	var o options
	scales := flag.String("workspaces", "100", "comma-separated numbers of workspaces; one run per number")
	flag.IntVar(&o.certs, "certs", 10, "Certificates per workspace in the burst")
	flag.StringVar(&o.key, "key", "ecdsa", "key algorithm of the burst: ecdsa (P-256) or rsa (2048)")
	flag.IntVar(&o.singles, "singles", 20, "Certificates issued one at a time for the single-issuance latency")
	flag.StringVar(&o.out, "out", "bin/bench", "directory for results.json, plot.svg and the logs")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up on a run after this long")
	flag.DurationVar(&o.profile, "kcp-profile", 20*time.Second, "record a kcp CPU profile this long from the start of the burst (0: none)")
	operatorArgs := flag.String("operator-args", "", "more operator flags, space-separated")
	operatorEnv := flag.String("operator-env", "", "more operator environment, space-separated KEY=VALUE (e.g. GOMEMLIMIT=300MiB); kcp and the benchmark do not get it")
	flag.Parse()
	for _, s := range strings.Split(*scales, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fail(fmt.Errorf("--workspaces: %q is not a count", s))
		}
		o.scales = append(o.scales, n)
	}
	o.args = strings.Fields(*operatorArgs)
	o.env = strings.Fields(*operatorEnv)
	// client-go logs the floor's writers being stopped mid-request; that is expected.
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	if err := run(o); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// Report is everything one invocation measured.
type Report struct {
	Machine      Machine  `json:"machine"`
	Key          string   `json:"key"`
	OperatorArgs []string `json:"operatorArgs,omitempty"`
	OperatorEnv  []string `json:"operatorEnv,omitempty"`
	Floor        Floor    `json:"floor"`
	Runs         []Result `json:"runs"`
}

// Machine says where the numbers come from.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"goVersion"`
	OS        string `json:"os"`
	Date      string `json:"date"`
}

func run(o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	rep := Report{Key: o.key, OperatorArgs: o.args, OperatorEnv: o.env, Machine: Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, Date: time.Now().UTC().Format(time.RFC3339)}}
	var err error
	fmt.Println("measuring the crypto floor")
	if rep.Floor.ECDSASeconds, err = cryptoCost(false, 2000); err != nil {
		return err
	}
	if rep.Floor.RSASeconds, err = cryptoCost(true, 30); err != nil {
		return err
	}
	for _, w := range o.scales {
		ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
		res, floor, err := runScale(ctx, o, w)
		cancel()
		if err != nil {
			return fmt.Errorf("W=%d: %w", w, err)
		}
		// The kcp floor is measured per run, on that run's kcp: each run keeps its own, and
		// the report's is the last run's. The crypto floor is measured once, above.
		floor.ECDSASeconds, floor.RSASeconds = rep.Floor.ECDSASeconds, rep.Floor.RSASeconds
		rep.Floor = floor
		res.KCPFloor = floor
		rep.Runs = append(rep.Runs, res)
		printTable(os.Stdout, rep, res)
	}
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "results.json"), raw, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "plot.svg"), plot(rep), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s and %s\n", filepath.Join(o.out, "results.json"), filepath.Join(o.out, "plot.svg"))
	return nil
}
