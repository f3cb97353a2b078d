package redis

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Options says how to reach a server. A zero field means the default
// its comment gives.
type Options struct {
	// Network is "tcp" or "unix"; empty means "tcp".
	Network string
	// Addr is host:port for tcp, a socket path for unix.
	Addr string
	// Username and Password, if Password is set, authenticate each new
	// connection with AUTH. An empty Username means the default user.
	Username, Password string
	// DB is the database each new connection selects.
	DB int
	// Name, if set, names each connection (CLIENT SETNAME), so that
	// CLIENT LIST and CLIENT KILL can find it.
	Name string
	// DialTimeout bounds connecting and its AUTH and SELECT; zero means
	// 2s.
	DialTimeout time.Duration
	// Timeout bounds one command, from writing it to reading its reply;
	// zero means 3s.
	Timeout time.Duration
	// IdleConns is how many idle connections a Client keeps; zero means
	// 4.
	IdleConns int
	// MinBackoff and MaxBackoff bound the wait before dialling again
	// after a failure, which doubles from one to the other; zero means
	// 50ms and 2s.
	MinBackoff, MaxBackoff time.Duration
}

func (o *Options) setDefaults() {
	if o.Network == "" {
		o.Network = "tcp"
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.IdleConns <= 0 {
		o.IdleConns = 4
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 50 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 2 * time.Second
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
}

// ParseURL parses a server URL into Options:
//
//	redis://[[user]:password@]host[:port][/db]   TCP; port 6379 by default
//	unix://[[user]:password@]/path[?db=N]        a Unix socket
//
// The password may also come as ?password=, so that a URL for a socket
// need not carry an empty host before it.
func ParseURL(s string) (*Options, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("redis: bad URL: %w", err)
	}
	o := &Options{}
	q := u.Query()
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	if p := q.Get("password"); p != "" {
		o.Password = p
	}
	db := q.Get("db")
	switch u.Scheme {
	case "redis":
		o.Network = "tcp"
		host, port := u.Hostname(), u.Port()
		if host == "" {
			return nil, errors.New("redis: URL has no host")
		}
		if port == "" {
			port = "6379"
		}
		o.Addr = net.JoinHostPort(host, port)
		if p := strings.Trim(u.Path, "/"); p != "" {
			db = p
		}
	case "unix":
		o.Network = "unix"
		if u.Path == "" {
			return nil, errors.New("redis: unix URL has no socket path")
		}
		o.Addr = u.Path
	case "rediss":
		return nil, errors.New("redis: TLS (rediss://) is not supported")
	default:
		return nil, fmt.Errorf("redis: URL scheme %q is neither redis nor unix", u.Scheme)
	}
	if db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("redis: bad database number %q", db)
		}
		o.DB = n
	}
	return o, nil
}
