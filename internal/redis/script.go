package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"strconv"
)

// A Script is a Lua script that runs on the server by its SHA-1 digest,
// sent in full only when the server does not have it (after a restart,
// say). It is safe for concurrent use.
type Script struct {
	src, sha string
}

// NewScript returns src as a Script.
func NewScript(src string) *Script {
	sum := sha1.Sum([]byte(src))
	return &Script{src: src, sha: hex.EncodeToString(sum[:])}
}

// Run runs the script with keys as KEYS and args as ARGV, with EVALSHA
// and, if the server answers NOSCRIPT, with EVAL. The retry is safe:
// NOSCRIPT means the script did not run.
func (s *Script) Run(ctx context.Context, c *Client, keys []string, args ...string) (Reply, error) {
	r, err := c.Do(ctx, s.command("EVALSHA", s.sha, keys, args)...)
	if e := Error(""); errors.As(err, &e) && e.Code() == "NOSCRIPT" {
		r, err = c.Do(ctx, s.command("EVAL", s.src, keys, args)...)
	}
	return r, err
}

func (s *Script) command(verb, script string, keys, args []string) []string {
	cmd := make([]string, 0, 3+len(keys)+len(args))
	cmd = append(cmd, verb, script, strconv.Itoa(len(keys)))
	cmd = append(cmd, keys...)
	return append(cmd, args...)
}
