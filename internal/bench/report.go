package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// results is everything one run measured. Samples are kept whole in the
// JSON file; the tables show medians over rounds.
type results struct {
	Meta       meta              `json:"meta"`
	Echo       []echoCellResult  `json:"echo,omitempty"`
	Handshakes []handshakeSample `json:"handshakes,omitempty"`
	Broadcast  []broadcastSample `json:"broadcast,omitempty"`
	Idle       []idleSample      `json:"idle,omitempty"`
	// Compressed and CompressedIdle are the compression suite: echo
	// cells and idle memory with permessage-deflate agreed.
	Compressed     []echoCellResult `json:"compressed,omitempty"`
	CompressedIdle []idleSample     `json:"compressed_idle,omitempty"`
	Errors         []string         `json:"errors,omitempty"`
}

type echoCellResult struct {
	Cell     cell         `json:"cell"`
	Warm     string       `json:"warm"`
	Measured string       `json:"measured"`
	Samples  []echoSample `json:"samples"`
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// A stat is one figure for one server: its median over rounds and the
// median, over the same rounds, of its ratio to ours.
type stat struct {
	value, ratio float64
	ok           bool
}

// summarize reduces samples of one measurement to a stat per server.
// round and impl identify a sample, good tells whether it succeeded, and
// f is the figure.
func summarize[S any](samples []S, impl func(S) string, round func(S) int, good func(S) bool, f func(S) float64) map[string]stat {
	ours := map[int]float64{}
	for _, s := range samples {
		if impl(s) == "ours" && good(s) {
			ours[round(s)] = f(s)
		}
	}
	vals, ratios := map[string][]float64{}, map[string][]float64{}
	for _, s := range samples {
		if !good(s) {
			continue
		}
		v := f(s)
		vals[impl(s)] = append(vals[impl(s)], v)
		if o, ok := ours[round(s)]; ok && o != 0 {
			ratios[impl(s)] = append(ratios[impl(s)], v/o)
		}
	}
	out := map[string]stat{}
	for name, v := range vals {
		out[name] = stat{value: median(v), ratio: median(ratios[name]), ok: true}
	}
	return out
}

func echoStats(r echoCellResult, f func(echoSample) float64) map[string]stat {
	return summarize(r.Samples,
		func(s echoSample) string { return s.Impl },
		func(s echoSample) int { return s.Round },
		func(s echoSample) bool { return s.Error == "" && s.Msgs > 0 },
		f)
}

// brief is the progress line of one cell: each server's median rate.
func (r echoCellResult) brief() string {
	st := echoStats(r, echoSample.rate)
	var b strings.Builder
	for _, s := range r.Samples {
		if s.Round != 0 {
			continue
		}
		fmt.Fprintf(&b, " %s=%s", s.Impl, count(st[s.Impl].value))
	}
	return b.String()
}

// echoNames lists the servers measured in any of rs, in the order of
// impls.
func echoNames(rs []echoCellResult) []string {
	var names []string
	for _, r := range rs {
		for _, s := range r.Samples {
			names = append(names, s.Impl)
		}
	}
	return implsOf(names)
}

// bestPeer returns ours's figure over the best peer's (the highest if
// higher is better, else the lowest), raw aside, as text.
func bestPeer(st map[string]stat, higher bool) string {
	best, name := 0.0, ""
	for n, s := range st {
		if n == "ours" || n == "raw" || !s.ok || s.value <= 0 {
			continue
		}
		if name == "" || higher && s.value > best || !higher && s.value < best {
			best, name = s.value, n
		}
	}
	if name == "" || !st["ours"].ok {
		return "—"
	}
	return fmt.Sprintf("%.2f× (%s)", st["ours"].value/best, name)
}

// implsOf lists the servers in samples, in the order of impls.
func implsOf(names []string) []string {
	var out []string
	for _, name := range impls {
		if slices.Contains(names, name) {
			out = append(out, name)
		}
	}
	return out
}

// count prints a rate or count with a k or M suffix, three significant
// figures.
func count(v float64) string {
	switch {
	case v >= 1e6:
		return sig(v/1e6) + "M"
	case v >= 1e3:
		return sig(v/1e3) + "k"
	}
	return sig(v)
}

// sig prints v with about three significant figures.
func sig(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// cellText prints a stat with its ratio to ours.
func cellText(st stat, isOurs bool, format func(float64) string) string {
	if !st.ok {
		return "—"
	}
	if isOurs {
		return format(st.value)
	}
	return fmt.Sprintf("%s (%.2f×)", format(st.value), st.ratio)
}

// table writes a Markdown table with one row per key and one column per
// server.
func table(w io.Writer, first []string, names []string, rows [][]string) {
	head := append(slices.Clone(first), names...)
	fmt.Fprintf(w, "| %s |\n", strings.Join(head, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat(" ---: |", len(head)))
	for _, r := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
	fmt.Fprintln(w)
}

func writeMarkdown(w io.Writer, res *results) {
	m := res.Meta
	kind := "Full run"
	if m.Quick {
		kind = "Quick run"
	}
	fmt.Fprintf(w, "# WebSocket echo benchmark\n\n")
	fmt.Fprintf(w, "%s, %s: %s on %s, %d CPUs (%s), kernel %s, commit %s. ", kind, m.Date, m.Go, m.OS, m.CPUs, m.CPU, m.Kernel, m.Commit)
	fmt.Fprintf(w, "Medians of %d rounds, servers in rotated order; each figure in parentheses is the median over rounds of the ratio to ours in the same round. ", m.Rounds)
	fmt.Fprintf(w, "Echo cells: %s warm-up, %s measured (0.5 s and 1 s for cells with over 64 MiB in flight), the warm-up extended until every connection has had a reply's worth of bytes back (at most 15 s); a message counts as its payload's bytes are echoed, so a 1 MiB reply counts while it streams in; pipelined connections keep %d messages in flight. ", m.Warm, m.Cell, m.Window)
	fmt.Fprintf(w, "Every server runs in its own process; CPU is the server's user+system time from /proc/PID/stat (10 ms resolution). Load generator and servers share the machine's cores. No compression is negotiated outside the compression section.\n\n")
	var vs []string
	for path, v := range m.Versions {
		vs = append(vs, path+" "+v)
	}
	slices.Sort(vs)
	fmt.Fprintf(w, "Peers: %s. ours: examples/echo (echo, idle, handshakes) and ws.PreparedMessage through a ws.Queue per subscriber (broadcast); raw: TCP echo, no framing.\n\n", strings.Join(vs, ", "))

	if len(res.Echo) > 0 {
		var names []string
		for _, s := range res.Echo[0].Samples {
			names = append(names, s.Impl)
		}
		names = implsOf(names)
		var rates, cpus, clients [][]string
		for _, r := range res.Echo {
			c := r.Cell
			key := []string{sizeName(c.Size), fmt.Sprint(c.Conns), c.mode()}
			rs, cs, cl := echoStats(r, echoSample.rate), echoStats(r, echoSample.serverUS), echoStats(r, echoSample.clientUS)
			rrow, crow, lrow := slices.Clone(key), slices.Clone(key), slices.Clone(key)
			for _, name := range names {
				rrow = append(rrow, cellText(rs[name], name == "ours", count))
				crow = append(crow, cellText(cs[name], name == "ours", sig))
				lrow = append(lrow, cellText(cl[name], true, sig))
			}
			rates, cpus, clients = append(rates, rrow), append(cpus, crow), append(clients, lrow)
		}
		key := []string{"payload", "conns", "mode"}
		fmt.Fprintf(w, "## Echo throughput: messages/s (higher is better)\n\n")
		table(w, key, names, rates)
		fmt.Fprintf(w, "## Echo server CPU per message: µs (lower is better)\n\n")
		table(w, key, names, cpus)
		fmt.Fprintf(w, "## Load generator CPU per message: µs (for reference)\n\n")
		table(w, key, names, clients)
	}

	if len(res.Compressed) > 0 || len(res.CompressedIdle) > 0 {
		writeCompression(w, res)
	}

	if len(res.Handshakes) > 0 {
		good := func(s handshakeSample) bool { return s.Error == "" && s.Handshakes > 0 }
		imp := func(s handshakeSample) string { return s.Impl }
		rnd := func(s handshakeSample) int { return s.Round }
		rs := summarize(res.Handshakes, imp, rnd, good, handshakeSample.rate)
		cs := summarize(res.Handshakes, imp, rnd, good, handshakeSample.serverUS)
		var rows [][]string
		for _, name := range implsOf(keys(rs)) {
			rows = append(rows, []string{name, cellText(rs[name], name == "ours", count), cellText(cs[name], name == "ours", sig)})
		}
		fmt.Fprintf(w, "## Handshakes (%d concurrent clients; raw: TCP connect only)\n\n", handshakeWorkers)
		table(w, []string{"server"}, []string{"handshakes/s", "server µs/handshake"}, rows)
	}

	if len(res.Broadcast) > 0 {
		fmt.Fprintf(w, "## Broadcast of a %d-byte message\n\n", m.Broadcast)
		fmt.Fprintf(w, "Latency: median time from the command to the last subscriber receiving one message. Burst: messages sent back to back; deliveries = messages × subscribers.\n\n")
		var rows [][]string
		for _, n := range uniq(res.Broadcast, func(s broadcastSample) int { return s.Subs }) {
			var ss []broadcastSample
			for _, s := range res.Broadcast {
				if s.Subs == n {
					ss = append(ss, s)
				}
			}
			good := func(s broadcastSample) bool { return s.Error == "" && s.Seconds > 0 }
			imp := func(s broadcastSample) string { return s.Impl }
			rnd := func(s broadcastSample) int { return s.Round }
			lat := summarize(ss, imp, rnd, good, func(s broadcastSample) float64 { return s.LatencyMS })
			rate := summarize(ss, imp, rnd, good, broadcastSample.rate)
			cpu := summarize(ss, imp, rnd, good, broadcastSample.serverUS)
			for _, name := range implsOf(keys(rate)) {
				rows = append(rows, []string{fmt.Sprint(n), name,
					cellText(lat[name], name == "ours", sig),
					cellText(rate[name], name == "ours", count),
					cellText(cpu[name], name == "ours", sig)})
			}
		}
		table(w, []string{"subscribers", "server"}, []string{"latency ms", "burst deliveries/s", "server µs/delivery"}, rows)
	}

	if len(res.Idle) > 0 {
		fmt.Fprintf(w, "## Idle connections: server memory\n\n")
		fmt.Fprintf(w, "(VmRSS with N idle connections − VmRSS before the first) / N, in KiB; a fresh server process per round, connections opened through each server's usual accept path (net/http, except gobwas and raw on a bare listener and nbio on its own engine). RLIMIT_NOFILE was %d, which bounds N below it.\n\n", m.NoFile)
		ns := uniq(res.Idle, func(s idleSample) int { return s.Conns })
		stats := map[int]map[string]stat{}
		var names []string
		for _, n := range ns {
			var ss []idleSample
			for _, s := range res.Idle {
				if s.Conns == n {
					ss = append(ss, s)
					names = append(names, s.Impl)
				}
			}
			stats[n] = summarize(ss,
				func(s idleSample) string { return s.Impl },
				func(s idleSample) int { return s.Round },
				func(s idleSample) bool { return true },
				func(s idleSample) float64 { return s.perConn() / 1024 })
		}
		var rows [][]string
		var head []string
		for _, n := range ns {
			head = append(head, fmt.Sprintf("KiB/conn at %d", n))
		}
		for _, name := range implsOf(names) {
			row := []string{name}
			for _, n := range ns {
				row = append(row, cellText(stats[n][name], name == "ours", sig))
			}
			rows = append(rows, row)
		}
		table(w, []string{"server"}, head, rows)
	}

	if len(res.Errors) > 0 {
		fmt.Fprintf(w, "## Errors\n\n")
		for _, e := range res.Errors {
			fmt.Fprintf(w, "- %s\n", e)
		}
		fmt.Fprintln(w)
	}
}

func keys(m map[string]stat) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// uniq returns the distinct values of f over s, in order of appearance.
func uniq[S any](s []S, f func(S) int) []int {
	var out []int
	for _, v := range s {
		if !slices.Contains(out, f(v)) {
			out = append(out, f(v))
		}
	}
	return out
}

// writeCompression writes the compression suite's tables.
func writeCompression(w io.Writer, res *results) {
	fmt.Fprintf(w, "## With compression (permessage-deflate)\n\n")
	fmt.Fprintf(w, "The client offers permessage-deflate, with client_no_context_takeover and server_no_context_takeover in the no-context-takeover mode and plainly in the context-takeover mode, and sends JSON-like text messages, each compressed once ahead of time (%s for 1 KiB) and sent in turn: %d different messages of 1 KiB, %d of 16 KiB, so that with context takeover no message finds its twin in the 32 KiB window; it counts the servers' compressed replies by their frame headers without inflating them. Servers that cannot keep context (gorilla, gobwas, nbio) run in the first mode only. Each server compresses at its default level, gobwas at level 1 (its README shows 9); gws with 32 KiB windows, as the others (its default with context takeover is 4 KiB). Ours is examples/echo -compression MODE (or, without that flag, the same loop in the bench binary). \"ours ÷ best peer\" divides ours's median by the best peer's (higher is better for messages/s, lower for CPU and memory).\n\n",
		fmt.Sprintf("about %d bytes", len(deflateMessage(jsonPayload(1<<10, 0)))), compVariants(1<<10), compVariants(16<<10))
	if len(res.Compressed) > 0 {
		names := echoNames(res.Compressed)
		var rates, cpus, sizes [][]string
		for _, r := range res.Compressed {
			c := r.Cell
			key := []string{sizeName(c.Size), fmt.Sprint(c.Conns), c.mode(), c.Compression}
			rs, cs := echoStats(r, echoSample.rate), echoStats(r, echoSample.serverUS)
			zs := echoStats(r, func(s echoSample) float64 { return s.ReplyBytes })
			rrow, crow, zrow := slices.Clone(key), slices.Clone(key), slices.Clone(key)
			for _, name := range names {
				rrow = append(rrow, cellText(rs[name], name == "ours", count))
				crow = append(crow, cellText(cs[name], name == "ours", sig))
				zrow = append(zrow, cellText(zs[name], name == "ours", count))
			}
			rrow, crow = append(rrow, bestPeer(rs, true)), append(crow, bestPeer(cs, false))
			rates, cpus, sizes = append(rates, rrow), append(cpus, crow), append(sizes, zrow)
		}
		key := []string{"payload", "conns", "mode", "compression"}
		cols := append(slices.Clone(names), "ours ÷ best peer")
		fmt.Fprintf(w, "### Compressed echo throughput: messages/s (higher is better)\n\n")
		table(w, key, cols, rates)
		fmt.Fprintf(w, "### Compressed echo server CPU per message: µs (lower is better)\n\n")
		table(w, key, cols, cpus)
		fmt.Fprintf(w, "### Compressed reply size on the wire: bytes per message\n\n")
		table(w, key, names, sizes)
	}
	if len(res.CompressedIdle) > 0 {
		type col struct {
			mode  string
			conns int
		}
		var cols []col
		var names []string
		for _, s := range res.CompressedIdle {
			if c := (col{s.Compression, s.Conns}); !slices.Contains(cols, c) {
				cols = append(cols, c)
			}
			names = append(names, s.Impl)
		}
		names = implsOf(names)
		stats := map[col]map[string]stat{}
		var head []string
		for _, c := range cols {
			var ss []idleSample
			for _, s := range res.CompressedIdle {
				if s.Compression == c.mode && s.Conns == c.conns {
					ss = append(ss, s)
				}
			}
			stats[c] = summarize(ss,
				func(s idleSample) string { return s.Impl },
				func(s idleSample) int { return s.Round },
				func(s idleSample) bool { return true },
				func(s idleSample) float64 { return s.perConn() / 1024 })
			head = append(head, fmt.Sprintf("KiB/conn, %s, %d conns", c.mode, c.conns))
		}
		var rows [][]string
		for _, name := range names {
			row := []string{name}
			for _, c := range cols {
				row = append(row, cellText(stats[c][name], name == "ours", sig))
			}
			rows = append(rows, row)
		}
		best := []string{"ours ÷ best peer"}
		for _, c := range cols {
			best = append(best, bestPeer(stats[c], false))
		}
		rows = append(rows, best)
		fmt.Fprintf(w, "### Idle connections after one compressed exchange: server memory\n\n")
		fmt.Fprintf(w, "As the idle table, on a fresh server per round, but each connection first sends one %s compressed message and reads the compressed reply, so that what a server keeps for compression after traffic (a compressor's and decompressor's state, with context takeover) counts.\n\n", sizeName(compIdleSize))
		table(w, []string{"server"}, head, rows)
	}
}
