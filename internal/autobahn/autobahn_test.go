package autobahn

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// image is the Autobahn|Testsuite image the Docker test runs.
const image = "crossbario/autobahn-testsuite"

// TestAutobahn runs the whole Autobahn|Testsuite, compression included,
// in Docker: against examples/echo as a server, and against our client
// (client/) with Autobahn as the server. It fails on every case whose
// behavior or closing behavior is not OK (INFORMATIONAL is fine), naming
// the case and what it tests. Reports stay in internal/autobahn/reports
// (open index.html there).
func TestAutobahn(t *testing.T) {
	if os.Getenv("AUTOBAHN") != "1" {
		t.Skip("Autobahn|Testsuite runs in Docker: set AUTOBAHN=1 to run it (see internal/autobahn/README.md)")
	}
	_, err := exec.LookPath("docker")
	require.NoError(t, err, "AUTOBAHN=1 needs the docker command")
	spec, err := filepath.Abs(".")
	require.NoError(t, err)
	reports := filepath.Join(spec, "reports")
	bin := buildPrograms(t)

	// Both modes use port 9001 on the host network, so they run one after
	// the other.
	t.Run("server", func(t *testing.T) {
		require.NoError(t, os.RemoveAll(filepath.Join(reports, "servers")))
		stop := startEcho(t, filepath.Join(bin, "echo"))
		docker(t, 30*time.Minute, "run", "--rm", "--network", "host",
			"-v", spec+":/config:ro", "-v", reports+":/reports",
			image, "wstest", "-m", "fuzzingclient", "-s", "/config/fuzzingclient.json")
		stop()
		checkReports(t, filepath.Join(reports, "servers"))
	})
	t.Run("client", func(t *testing.T) {
		require.NoError(t, os.RemoveAll(filepath.Join(reports, "clients")))
		id := strings.TrimSpace(docker(t, 5*time.Minute, "run", "-d", "--rm", "--network", "host",
			"-v", spec+":/config:ro", "-v", reports+":/reports",
			image, "wstest", "-m", "fuzzingserver", "-s", "/config/fuzzingserver.json"))
		t.Cleanup(func() { exec.Command("docker", "stop", id).Run() })
		waitForPort(t, "127.0.0.1:9001", time.Minute)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "client"), "-server", "ws://127.0.0.1:9001", "-agent", "websocket")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if testing.Verbose() {
			cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, os.Stdout), io.MultiWriter(&out, os.Stderr)
		}
		require.NoError(t, cmd.Run(), "client:\n%s", out.String())
		checkReports(t, filepath.Join(reports, "clients"))
	})
}

// checkReports fails the test once for every case that did not pass.
func checkReports(t *testing.T, dir string) {
	t.Helper()
	cases, failed, err := Check(os.DirFS(dir))
	require.NoError(t, err)
	for _, f := range failed {
		t.Errorf("%v", f)
	}
	t.Logf("%s: %d cases, %d passed, %d failed", dir, cases, cases-len(failed), len(failed))
}

// buildPrograms builds examples/echo and client/ into a temporary
// directory and returns it.
func buildPrograms(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, pkg := range map[string]string{"echo": "../../examples/echo", "client": "./client"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput()
		require.NoError(t, err, "go build %s:\n%s", pkg, out)
	}
	return dir
}

// startEcho starts the echo server on 127.0.0.1:9001, waits until it
// listens, and returns a function that stops it with SIGTERM and checks
// that it exits cleanly.
func startEcho(t *testing.T, bin string) (stop func()) {
	t.Helper()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:9001")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	select {
	case l := <-line:
		require.Equal(t, "echo: listening on ws://127.0.0.1:9001", l)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("echo did not start listening within 30s")
	}
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			assert.NoError(t, err, "echo should exit cleanly on SIGTERM")
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Error("echo did not exit within 30s of SIGTERM")
		}
	}
	t.Cleanup(stop)
	return stop
}

// docker runs the docker command with args and returns its standard
// output.
func docker(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if testing.Verbose() {
		cmd.Stdout = io.MultiWriter(&stdout, os.Stdout)
	}
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Run(), "docker %s", strings.Join(args, " "))
	return stdout.String()
}

// waitForPort waits until addr accepts TCP connections: the container
// gives no other sign that its server is up.
func waitForPort(t *testing.T, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not accept connections within %v: %v", addr, timeout, err)
		}
		<-tick.C
	}
}
