package testpeer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RedisOptions configures StartRedis; nil means a Unix socket only, no
// password.
type RedisOptions struct {
	// TCP also listens on a free loopback port.
	TCP bool
	// Password, if set, is required of every client (requirepass).
	Password string
}

// A Redis is a running redis-server that keeps nothing on disk, so a
// restart loses every key, as a crash without persistence would.
type Redis struct {
	// Socket is the Unix socket it listens on; Addr the loopback
	// host:port, with RedisOptions.TCP.
	Socket, Addr string

	t    testing.TB
	path string
	conf string
	proc *process
}

// StartRedis starts redis-server, and stops it when the test ends.
func StartRedis(t testing.TB, opts *RedisOptions) *Redis {
	t.Helper()
	if opts == nil {
		opts = &RedisOptions{}
	}
	path := Require(t, "redis-server", "redis-server")
	dir := t.TempDir()
	r := &Redis{t: t, path: path, Socket: filepath.Join(dir, "redis.sock"), conf: filepath.Join(dir, "redis.conf")}
	conf := []string{
		"daemonize no",
		"port 0",
		"unixsocket " + r.Socket,
		"unixsocketperm 700",
		"dir " + dir,
		`save ""`,
		"appendonly no",
		"logfile \"\"",
	}
	if opts.TCP {
		r.Addr = FreePort(t)
		_, port, _ := strings.Cut(r.Addr, ":")
		conf = append(conf, "bind 127.0.0.1", "port "+port)
	}
	if opts.Password != "" {
		conf = append(conf, "requirepass "+opts.Password)
	}
	if err := os.WriteFile(r.conf, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Start()
	return r
}

// URL returns the unix:// URL of the server's socket.
func (r *Redis) URL() string { return "unix://" + r.Socket }

// Start starts the server again after Stop or Kill, empty.
func (r *Redis) Start() {
	r.t.Helper()
	r.proc = start(r.t, "redis-server", r.path, []string{r.conf}, "unix", r.Socket)
}

// Stop shuts the server down (SIGTERM) and waits for it to exit.
func (r *Redis) Stop() { r.proc.stop() }

// Kill ends the server at once (SIGKILL), as a crash would.
func (r *Redis) Kill() {
	r.proc.kill()
	// A killed server leaves its socket file behind.
	os.Remove(r.Socket)
}

// Pid returns the server's process id.
func (r *Redis) Pid() int { return r.proc.cmd.Process.Pid }

func (r *Redis) String() string { return fmt.Sprintf("redis-server %s", r.Socket) }
