package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-serve" {
		os.Exit(serveMain(os.Args[1:]))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// impls are the servers compared, ours first: ratios are against it.
var impls = []string{"ours", "gorilla", "coder", "gobwas", "gws", "nbio", "raw"}

// A plan is what one run measures.
type plan struct {
	quick      bool
	rounds     int
	warm, dur  time.Duration
	cells      []cell
	idle       []int // idle connection counts; none skips the suite
	broadcast  []int // subscriber counts; none skips the suite
	singles    int   // single broadcasts timed per sample
	burst      int   // deliveries per burst (messages × subscribers)
	handshakes time.Duration
	impls      []string
	comp       []cell // compressed echo cells, grouped by mode; none skips the suite
	compIdle   int    // connections for idle memory after a compressed exchange, per mode; 0 skips
}

func fullPlan() plan {
	return plan{
		rounds: 3, warm: 150 * time.Millisecond, dur: 700 * time.Millisecond,
		cells:     matrix(),
		idle:      []int{5000, 20000},
		broadcast: []int{1000, 5000},
		singles:   5, burst: 200_000,
		handshakes: time.Second,
		impls:      impls,
		comp:       compMatrix(),
		compIdle:   2000,
	}
}

func quickPlan() plan {
	return plan{
		quick:  true,
		rounds: 3, warm: 100 * time.Millisecond, dur: 400 * time.Millisecond,
		cells:     quickMatrix(),
		broadcast: []int{1000},
		singles:   3, burst: 50_000,
		handshakes: 300 * time.Millisecond,
		impls:      impls,
		comp:       []cell{{1 << 10, 64, 1, compNoTakeover}},
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "measure a corner of each dimension (under 90 s) and print the tables")
	rounds := fs.Int("rounds", 0, "rounds per measurement, in rotated order (0: 3)")
	dur := fs.Duration("cell", 0, "measured time per echo cell (0: 700ms, or 400ms with -quick)")
	only := fs.String("impls", "", "comma-separated servers to compare (default all: "+strings.Join(impls, ",")+")")
	match := fs.String("match", "", "run only the echo cells (compressed or not) whose name matches this `regexp`, such as '1 MiB 1000 conn' or 'deflate context-takeover'")
	suites := fs.String("suites", "echo,idle,broadcast,handshakes,compression", "comma-separated suites to run")
	out := fs.String("out", "", "directory for latest.md, latest.json and latest.svg (default: results next to this module, without -quick; none with it)")
	root := fs.String("root", "", "the main module's directory (default: found from the working directory)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	p := fullPlan()
	if *quick {
		p = quickPlan()
	}
	if *rounds > 0 {
		p.rounds = *rounds
	}
	if *dur > 0 {
		p.dur = *dur
	}
	if *only != "" {
		p.impls = strings.Split(*only, ",")
		for _, name := range p.impls {
			if !slices.Contains(impls, name) {
				fmt.Fprintf(stderr, "bench: unknown server %q\n", name)
				return 2
			}
		}
		if p.impls[0] != "ours" {
			p.impls = append([]string{"ours"}, slices.DeleteFunc(p.impls, func(s string) bool { return s == "ours" })...)
		}
	}
	if *match != "" {
		re, err := regexp.Compile(*match)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		p.cells = slices.DeleteFunc(p.cells, func(c cell) bool { return !re.MatchString(c.String()) })
		p.comp = slices.DeleteFunc(p.comp, func(c cell) bool { return !re.MatchString(c.String()) })
	}
	want := strings.Split(*suites, ",")
	if !slices.Contains(want, "echo") {
		p.cells = nil
	}
	if !slices.Contains(want, "idle") {
		p.idle = nil
	}
	if !slices.Contains(want, "broadcast") {
		p.broadcast = nil
	}
	if !slices.Contains(want, "handshakes") {
		p.handshakes = 0
	}
	if !slices.Contains(want, "compression") {
		p.comp, p.compIdle = nil, 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := raiseFileLimit(); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
	}
	env, err := setup(ctx, *root)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	defer os.RemoveAll(env.tmp)
	res := measure(ctx, env, p, &logger{w: stderr, t0: time.Now()})
	writeMarkdown(stdout, res)
	dir := *out
	if dir == "" && !p.quick {
		dir = filepath.Join(env.root, "internal", "bench", "results")
	}
	if dir != "" {
		if err := save(dir, res); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		fmt.Fprintf(stderr, "bench: wrote %s\n", filepath.Join(dir, "latest.{md,json,svg}"))
	}
	if len(res.Errors) > 0 || ctx.Err() != nil {
		return 1
	}
	return 0
}

// env is what every suite needs to start servers.
type env struct {
	root    string // the main module
	self    string // this binary, run again with -serve
	echoBin string // examples/echo, built from root
	// echoComp tells whether examples/echo takes -compression MODE;
	// without it the compression suite runs ours in this binary.
	echoComp bool
	tmp      string
}

// setup finds the main module and builds examples/echo from it.
func setup(ctx context.Context, root string) (*env, error) {
	var err error
	if root == "" {
		if root, err = findRoot(); err != nil {
			return nil, err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "wsbench")
	if err != nil {
		return nil, err
	}
	e := &env{root: root, self: self, tmp: tmp, echoBin: filepath.Join(tmp, "echo")}
	if err := buildEcho(ctx, root, e.echoBin); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	// Its usage (on -h) lists its flags.
	usage, _ := exec.CommandContext(ctx, e.echoBin, "-h").CombinedOutput()
	e.echoComp = bytes.Contains(usage, []byte("-compression"))
	return e, nil
}

const mainModule = "github.com/ab7c482b/websocket"

// findRoot walks up from the working directory to the main module's
// go.mod (this benchmark's own go.mod names a different module).
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 64 {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+mainModule+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("cannot find the main module (" + mainModule + ") above the working directory; pass -root")
}

// buildEcho builds examples/echo, the echo server this library's users are
// told to write, in the main module.
func buildEcho(ctx context.Context, root, out string) error {
	if _, err := os.Stat(filepath.Join(root, "examples", "echo")); err != nil {
		return fmt.Errorf("examples/echo is missing from %s: %w", root, err)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("build examples/echo: %w", err)
	}
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", out, "./examples/echo")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build examples/echo: %w\n%s", err, b)
	}
	return nil
}

// startEcho starts impl's echo server: examples/echo for ours, this
// binary for the others.
func (e *env) startEcho(impl string) (*proc, error) { return e.startEchoComp(impl, compNone) }

// startEchoComp starts impl's echo server accepting compression in mode
// comp: examples/echo for ours if it can be told the mode, this binary
// otherwise.
func (e *env) startEchoComp(impl, comp string) (*proc, error) {
	if impl == "ours" && (comp == compNone || e.echoComp) {
		args := []string{e.echoBin, "-addr", "127.0.0.1:0"}
		if comp != compNone {
			args = append(args, "-compression", comp)
		}
		p, err := startProc(impl, false, args...)
		if err == nil {
			p.comp = comp
			go io.Copy(io.Discard, p.out) // it answers no commands
		}
		return p, err
	}
	return e.startBenchComp(impl, comp)
}

// startBench starts impl as this binary serves it.
func (e *env) startBench(impl string) (*proc, error) { return e.startBenchComp(impl, compNone) }

func (e *env) startBenchComp(impl, comp string) (*proc, error) {
	args := []string{e.self, "-serve", impl, "-addr", "127.0.0.1:0"}
	if comp != compNone {
		args = append(args, "-compression", comp)
	}
	p, err := startProc(impl, impl == "raw", args...)
	if err == nil {
		p.comp = comp
	}
	return p, err
}

// rotate returns s starting at index k, wrapping around: each round and
// cell starts with a different server, so that no server always runs
// first or after the same neighbour.
func rotate(s []string, k int) []string {
	k %= len(s)
	return append(slices.Clone(s[k:]), s[:k]...)
}

// A logger prints progress to stderr with the time since the run began.
type logger struct {
	w  io.Writer
	t0 time.Time
}

func (l *logger) printf(format string, args ...any) {
	fmt.Fprintf(l.w, "bench: %4.0fs %s\n", time.Since(l.t0).Seconds(), fmt.Sprintf(format, args...))
}

// measure runs every suite of p.
func measure(ctx context.Context, e *env, p plan, log *logger) *results {
	res := &results{Meta: newMeta(e, p)}
	fail := func(err error) {
		log.printf("error: %v", err)
		res.Errors = append(res.Errors, err.Error())
	}
	if len(p.cells) > 0 {
		res.Echo = measureEcho(ctx, e, p, log, fail)
	}
	if p.handshakes > 0 && ctx.Err() == nil {
		res.Handshakes = measureHandshakes(ctx, e, p, log, fail)
	}
	if len(p.broadcast) > 0 && ctx.Err() == nil {
		res.Broadcast = measureBroadcast(ctx, e, p, log, fail)
	}
	if len(p.idle) > 0 && ctx.Err() == nil {
		res.Idle = measureIdle(ctx, e, p, log, fail)
	}
	if (len(p.comp) > 0 || p.compIdle > 0) && ctx.Err() == nil {
		res.Compressed, res.CompressedIdle = measureCompression(ctx, e, p, log, fail)
	}
	return res
}

// startAll starts one server per impl, or reports why one failed.
func startAll(p plan, start func(string) (*proc, error)) (map[string]*proc, func(), error) {
	procs := make(map[string]*proc)
	stop := func() {
		for _, pr := range procs {
			pr.stop()
		}
	}
	for _, impl := range p.impls {
		pr, err := start(impl)
		if err != nil {
			stop()
			return nil, nil, err
		}
		procs[impl] = pr
	}
	return procs, stop, nil
}

func measureEcho(ctx context.Context, e *env, p plan, log *logger, fail func(error)) []echoCellResult {
	procs, stop, err := startAll(p, e.startEcho)
	if err != nil {
		fail(err)
		return nil
	}
	defer stop()
	return echoCells(ctx, p, p.cells, procs, log, fail)
}

// echoCells measures cells against procs, one per server of p.impls.
func echoCells(ctx context.Context, p plan, cells []cell, procs map[string]*proc, log *logger, fail func(error)) []echoCellResult {
	var out []echoCellResult
	for ci, c := range cells {
		warm, dur := p.warm, p.dur
		if c.inFlight() > heavy {
			// Each connection completes a message only every few
			// hundred ms: give the load time to spread out, and count
			// over several rounds of replies.
			warm, dur = max(warm, 500*time.Millisecond), max(dur, time.Second)
		}
		r := echoCellResult{Cell: c, Warm: warm.String(), Measured: dur.String()}
		for round := range p.rounds {
			for _, impl := range rotate(p.impls, ci+round*3) {
				if ctx.Err() != nil {
					return out
				}
				s, err := runCell(ctx, procs[impl], c, warm, dur, false)
				s.Round = round
				if err != nil {
					s.Error = err.Error()
					fail(fmt.Errorf("echo %v: %w", c, err))
				}
				r.Samples = append(r.Samples, s)
			}
		}
		out = append(out, r)
		log.printf("echo %-32v %s", c, r.brief())
	}
	return out
}

func measureHandshakes(ctx context.Context, e *env, p plan, log *logger, fail func(error)) []handshakeSample {
	procs, stop, err := startAll(p, e.startEcho)
	if err != nil {
		fail(err)
		return nil
	}
	defer stop()
	var out []handshakeSample
	for round := range p.rounds {
		for _, impl := range rotate(p.impls, round*3) {
			if ctx.Err() != nil {
				return out
			}
			s, err := runHandshakes(ctx, procs[impl], p.handshakes/5, p.handshakes)
			s.Round = round
			if err != nil {
				s.Error = err.Error()
				fail(err)
			}
			out = append(out, s)
		}
	}
	log.printf("handshakes done")
	return out
}

func measureBroadcast(ctx context.Context, e *env, p plan, log *logger, fail func(error)) []broadcastSample {
	procs, stop, err := startAll(p, e.startBench)
	if err != nil {
		fail(err)
		return nil
	}
	defer stop()
	var out []broadcastSample
	for _, n := range p.broadcast {
		for round := range p.rounds {
			for _, impl := range rotate(p.impls, round*3) {
				if ctx.Err() != nil {
					return out
				}
				s, err := runBroadcast(ctx, procs[impl], n, p.singles, max(1, p.burst/n))
				s.Round = round
				if err != nil {
					s.Error = err.Error()
					fail(fmt.Errorf("broadcast to %d: %w", n, err))
				}
				out = append(out, s)
			}
		}
		log.printf("broadcast to %d done", n)
	}
	return out
}

func measureIdle(ctx context.Context, e *env, p plan, log *logger, fail func(error)) []idleSample {
	counts := idleCounts(p.idle, log)
	var out []idleSample
	for round := range p.rounds {
		for _, impl := range rotate(p.impls, round*3) {
			if ctx.Err() != nil {
				return out
			}
			s, err := runIdle(ctx, func() (*proc, error) { return e.startEcho(impl) }, counts, nil)
			for i := range s {
				s[i].Round = round
			}
			out = append(out, s...)
			if err != nil {
				fail(fmt.Errorf("idle %s: %w", impl, err))
			}
		}
		log.printf("idle round %d done", round+1)
	}
	return out
}

// idleCounts caps counts to what RLIMIT_NOFILE allows: each end of every
// connection is a file in a process, and without CAP_SYS_RESOURCE the
// hard limit cannot be raised.
func idleCounts(counts []int, log *logger) []int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return counts
	}
	most := (int(min(lim.Cur, 1<<30)) - 300) / 500 * 500 // room for the process's other files
	out := slices.Clone(counts)
	for i, n := range out {
		if n > most {
			log.printf("RLIMIT_NOFILE is %d: measuring %d idle connections instead of %d", lim.Cur, most, n)
			out[i] = most
		}
	}
	return out
}

// save writes the results as Markdown, JSON and an SVG chart.
func save(dir string, res *results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var md bytes.Buffer
	writeMarkdown(&md, res)
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	var svg bytes.Buffer
	writeSVG(&svg, res)
	for name, b := range map[string][]byte{"latest.md": md.Bytes(), "latest.json": append(js, '\n'), "latest.svg": svg.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// meta describes the run, so that results can be compared with care.
type meta struct {
	Date      string            `json:"date"`
	Go        string            `json:"go"`
	OS        string            `json:"os"`
	CPUs      int               `json:"cpus"`
	CPU       string            `json:"cpu,omitempty"`
	Kernel    string            `json:"kernel,omitempty"`
	Commit    string            `json:"commit,omitempty"`
	Quick     bool              `json:"quick"`
	Rounds    int               `json:"rounds"`
	Warm      string            `json:"warm"`
	Cell      string            `json:"cell"`
	Window    int               `json:"pipeline_window"`
	Versions  map[string]string `json:"versions"`
	Broadcast int               `json:"broadcast_size"`
	NoFile    uint64            `json:"rlimit_nofile"`
}

func newMeta(e *env, p plan) meta {
	m := meta{
		Date: time.Now().UTC().Format(time.RFC3339), Go: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU(),
		Quick: p.quick, Rounds: p.rounds, Warm: p.warm.String(), Cell: p.dur.String(),
		Window: pipelineWindow, Versions: map[string]string{}, Broadcast: broadcastSize,
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		m.NoFile = lim.Cur
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	cmd := exec.Command("git", "rev-parse", "--short", "HEAD")
	cmd.Dir = e.root
	if b, err := cmd.Output(); err == nil {
		m.Commit = strings.TrimSpace(string(b))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/gorilla/websocket", "github.com/coder/websocket", "github.com/gobwas/ws",
				"github.com/lxzan/gws", "github.com/lesismal/nbio":
				m.Versions[d.Path] = d.Version
			}
		}
	}
	return m
}
