package testpeer

import (
	"os"
	"path/filepath"
	"testing"
)

// A Nginx is a running nginx that proxies HTTP and WebSocket upgrades
// to a group of servers.
type Nginx struct {
	// Addr is the loopback host:port it listens on.
	Addr string
	proc *process
}

// StartNginx starts nginx in front of upstreams (host:port each),
// spreading connections over them round robin, and stops it when the
// test ends. Its configuration is NginxConfig's.
func StartNginx(t testing.TB, upstreams []string) *Nginx {
	t.Helper()
	path := Require(t, "nginx", "nginx")
	dir := t.TempDir()
	n := &Nginx{Addr: FreePort(t)}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(NginxConfig(dir, n.Addr, upstreams)), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"),
		"-g", "daemon off; pid " + filepath.Join(dir, "nginx.pid") + ";"}
	n.proc = start(t, "nginx", path, args, "tcp", n.Addr)
	return n
}

// URL returns the http:// URL nginx serves.
func (n *Nginx) URL() string { return "http://" + n.Addr }

// NginxConfig returns a configuration for nginx that keeps every file
// in dir, listens on listen and passes requests, WebSocket upgrades
// included, to upstreams. The part from "map" on is what a deployment
// needs (the README shows it); the rest keeps a test's nginx to itself.
func NginxConfig(dir, listen string, upstreams []string) string {
	servers := ""
	for _, u := range upstreams {
		servers += "        server " + u + ";\n"
	}
	user := ""
	if os.Geteuid() == 0 {
		// Workers would otherwise run as nobody, shut out of dir.
		user = "user root;\n"
	}
	return user + `worker_processes 1;
error_log ` + filepath.Join(dir, "error.log") + `;
events { worker_connections 256; }
http {
    access_log ` + filepath.Join(dir, "access.log") + `;
    client_body_temp_path ` + filepath.Join(dir, "body") + `;
    proxy_temp_path ` + filepath.Join(dir, "proxy") + `;
    fastcgi_temp_path ` + filepath.Join(dir, "fastcgi") + `;
    uwsgi_temp_path ` + filepath.Join(dir, "uwsgi") + `;
    scgi_temp_path ` + filepath.Join(dir, "scgi") + `;

    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    upstream chat {
` + servers + `    }
    server {
        listen ` + listen + `;
        location / {
            proxy_pass http://chat;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }
    }
}
`
}
