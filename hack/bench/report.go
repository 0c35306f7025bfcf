package main

import (
	"bytes"
	"fmt"
	"io"
	"text/tabwriter"
)

// printTable prints one run's figures, each next to the floor it is measured against.
func printTable(out io.Writer, rep Report, r Result) {
	f := rep.Floor
	crypto := f.ECDSASeconds
	if rep.Key == "rsa" {
		crypto = f.RSASeconds
	}
	// The best throughput kcp allows: its write rate divided by the writes one issuance needs.
	kcpBound := f.WritesPerSecond / r.WritesPerIssuance
	cpuBound := float64(rep.Machine.CPUs) / crypto
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\nW=%d, C=%d per workspace, %s, %d CPUs\n", r.Workspaces, r.Certs/r.Workspaces, rep.Key, rep.Machine.CPUs)
	fmt.Fprintln(tw, "figure\tvalue\tfloor\tratio")
	row := func(name string, v float64, unit string, floor float64, floorName string) {
		ratio := "-"
		if floor > 0 {
			ratio = fmt.Sprintf("%.2f", v/floor)
		}
		fmt.Fprintf(tw, "%s\t%.4g %s\t%s\t%s\n", name, v, unit, floorName, ratio)
	}
	row("crypto, ECDSA P-256 key+sign", f.ECDSASeconds*1000, "ms", 0, "")
	row("crypto, RSA-2048 key+sign", f.RSASeconds*1000, "ms", 0, "")
	row("kcp write p50 (sequential)", f.WriteP50Seconds*1000, "ms", 0, "")
	row("kcp writes/s (16 writers)", f.WritesPerSecond, "/s", 0, "")
	row("kcp write p50 via virtual workspace", f.VWWriteP50Seconds*1000, "ms", f.WriteP50Seconds*1000, "write p50")
	row("single issuance p50", r.SingleP50Seconds*1000, "ms", f.WriteP50Seconds*1000, fmt.Sprintf("write p50 %.2f ms", f.WriteP50Seconds*1000))
	row("single issuance p50", r.SingleP50Seconds*1000, "ms", f.VWWriteP50Seconds*1000,
		fmt.Sprintf("VW write p50 %.2f ms", f.VWWriteP50Seconds*1000))
	row("burst create-to-Ready p50", r.BurstP50Seconds, "s", 0, "")
	row("burst create-to-Ready p95", r.BurstP95Seconds, "s", 0, "")
	row("burst create-to-Ready p99", r.BurstP99Seconds, "s", 0, "")
	row("API writes per issuance", r.WritesPerIssuance, "", 0, "")
	row("issuances/s", r.IssuancesPerSecond, "/s", kcpBound, fmt.Sprintf("kcp bound %.1f/s", kcpBound))
	row("issuances/s vs CPU", r.IssuancesPerSecond, "/s", cpuBound, fmt.Sprintf("crypto bound %.1f/s", cpuBound))
	row("operator CPU during burst", r.CPUSeconds, "s", crypto*float64(r.Certs), fmt.Sprintf("crypto %.2f s", crypto*float64(r.Certs)))
	row("kcp CPU during burst", r.KCPCPUSeconds, "s", 0, "")
	busy := (r.CPUSeconds + r.KCPCPUSeconds) / (r.BurstSeconds * float64(rep.Machine.CPUs))
	row("machine busy during burst (operator+kcp)", busy*100, "%", 0, "")
	row("operator RSS idle", r.RSSIdleMB, "MB", 0, "")
	row("operator RSS peak", r.RSSPeakMB, "MB", 0, "")
	row("RSS per certificate (peak above idle)", r.RSSPerCertKB, "KB", 0, "")
	row("live heap idle", r.HeapIdleMB, "MB", 0, "")
	row("live heap after burst", r.HeapMB, "MB", 0, "")
	row("live heap per certificate", r.HeapPerCertKB, "KB", 0, "")
	row("onboarding p50 (Bound to Ready)", r.OnboardingP50Seconds, "s", 0, "")
	row("onboarding p99", r.OnboardingP99Seconds, "s", 0, "")
	row("onboarding one at a time p50", r.OnboardingOneP50Seconds, "s", 0, "")
	row("restart: all reconciled", r.RestartSeconds, "s", 0, "")
	row("restart: new CertificateRequests", float64(r.RestartNewCRs), "", 0, "")
	tw.Flush()
	fmt.Fprintln(out, "\nkcp requests per issuance during the burst (all clients):")
	for _, rc := range r.KCPRequests {
		fmt.Fprintf(out, "  %6.2f  %s\n", rc.PerIssuance, rc.Request)
	}
	if r.KCPProfile != "" {
		fmt.Fprintf(out, "kcp CPU profile: go tool pprof -top %s\n", r.KCPProfile)
	}
}

// plot draws burst latency (p50, p99) and RSS per certificate against the number of
// workspaces, as an SVG that renders on GitHub.
func plot(rep Report) []byte {
	var b bytes.Buffer
	const w, h, pad = 760, 300, 50
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	panel := func(x0 int, title, unit string, series map[string][]float64, colors map[string]string) {
		pw := w/2 - pad - 10
		ph := h - 2*pad
		maxY := 0.0
		for _, s := range series {
			for _, v := range s {
				maxY = max(maxY, v)
			}
		}
		if maxY == 0 {
			maxY = 1
		}
		fmt.Fprintf(&b, `<text x="%d" y="20" font-weight="bold">%s</text>`+"\n", x0, title)
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", x0, pad, x0, pad+ph)
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", x0, pad+ph, x0+pw, pad+ph)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%.3g %s</text>`+"\n", x0+4, pad-4, maxY, unit)
		n := len(rep.Runs)
		for i, r := range rep.Runs {
			x := x0 + (i+1)*pw/(n+1)
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">W=%d</text>`+"\n", x, pad+ph+16, r.Workspaces)
		}
		legendY := pad + ph + 34
		for name, s := range series {
			pts := ""
			for i, v := range s {
				x := x0 + (i+1)*pw/(n+1)
				y := pad + ph - int(v/maxY*float64(ph))
				pts += fmt.Sprintf("%d,%d ", x, y)
				fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="3" fill="%s"/>`+"\n", x, y, colors[name])
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", pts, colors[name])
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n", x0, legendY, colors[name], name)
			x0 += 110
		}
	}
	var p50, p99, rss []float64
	for _, r := range rep.Runs {
		p50, p99, rss = append(p50, r.BurstP50Seconds), append(p99, r.BurstP99Seconds), append(rss, r.RSSPerCertKB)
	}
	panel(pad, "Burst create-to-Ready", "s", map[string][]float64{"p50": p50, "p99": p99},
		map[string]string{"p50": "#1f77b4", "p99": "#d62728"})
	panel(w/2+pad/2, "Operator RSS per certificate", "KB", map[string][]float64{"KB per cert": rss},
		map[string]string{"KB per cert": "#2ca02c"})
	b.WriteString("</svg>\n")
	return b.Bytes()
}
