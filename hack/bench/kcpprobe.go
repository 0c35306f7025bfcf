package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// kcpProbe reads kcp's own view of a run, with the admin's credentials: its request
// counts (apiserver_request_total) and a CPU profile (/debug/pprof, on by default).
// They show where kcp's CPU goes when kcp is the limit.
type kcpProbe struct {
	base string // https://host:port, without a workspace path
	http *http.Client
}

func newKCPProbe(admin *rest.Config) (*kcpProbe, error) {
	u, err := url.Parse(admin.Host)
	if err != nil {
		return nil, err
	}
	c, err := rest.HTTPClientFor(admin)
	if err != nil {
		return nil, err
	}
	return &kcpProbe{base: u.Scheme + "://" + u.Host, http: c}, nil
}

func (p *kcpProbe) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.http.Do(req)
	if err == nil && resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return resp, err
}

// requests returns kcp's request counts so far, by "VERB resource[/subresource]".
func (p *kcpProbe) requests(ctx context.Context) (map[string]float64, error) {
	resp, err := p.get(ctx, "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	m, err := parseMetrics(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for k, v := range m {
		if !strings.HasPrefix(k, "apiserver_request_total{") {
			continue
		}
		key := label(k, "verb") + " " + label(k, "resource")
		if sub := label(k, "subresource"); sub != "" {
			key += "/" + sub
		}
		out[key] += v
	}
	return out, nil
}

// label is the value of one label in a sample's name{labels}.
func label(sample, name string) string {
	for i := 0; ; {
		j := strings.Index(sample[i:], name+`="`)
		if j < 0 {
			return ""
		}
		i += j
		if i > 0 && (sample[i-1] == '{' || sample[i-1] == ',') {
			rest := sample[i+len(name)+2:]
			return rest[:strings.IndexByte(rest, '"')]
		}
		i += len(name)
	}
}

// profile writes a CPU profile of kcp over d to path.
func (p *kcpProbe) profile(ctx context.Context, d time.Duration, path string) error {
	resp, err := p.get(ctx, "/debug/pprof/profile?seconds="+strconv.Itoa(int(d.Seconds())))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// RequestCount is kcp's count of one kind of request during the burst, per issuance.
type RequestCount struct {
	Request     string  `json:"request"`
	PerIssuance float64 `json:"perIssuance"`
}

// perIssuance is the difference of two request counts, per issuance, largest first,
// without kinds that were rarer than once per 20 issuances.
func perIssuance(before, after map[string]float64, issuances int) []RequestCount {
	var out []RequestCount
	for k, v := range after {
		if d := (v - before[k]) / float64(issuances); d >= 0.05 {
			out = append(out, RequestCount{Request: k, PerIssuance: d})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PerIssuance != out[j].PerIssuance {
			return out[i].PerIssuance > out[j].PerIssuance
		}
		return out[i].Request < out[j].Request
	})
	return out
}

// parseMetrics reads Prometheus' text format into name{labels} -> value.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(io.LimitReader(r, 64<<20))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}
