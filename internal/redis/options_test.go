package redis

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url  string
		want Options
	}{
		{"redis://localhost", Options{Network: "tcp", Addr: "localhost:6379"}},
		{"redis://10.0.0.5:7000/3", Options{Network: "tcp", Addr: "10.0.0.5:7000", DB: 3}},
		{"redis://:s3cret@[::1]:6380/0", Options{Network: "tcp", Addr: "[::1]:6380", Password: "s3cret"}},
		{"redis://chat:pw@redis.internal/2", Options{Network: "tcp", Addr: "redis.internal:6379", Username: "chat", Password: "pw", DB: 2}},
		{"unix:///run/redis/redis.sock", Options{Network: "unix", Addr: "/run/redis/redis.sock"}},
		{"unix://:pw@/run/redis.sock?db=5", Options{Network: "unix", Addr: "/run/redis.sock", Password: "pw", DB: 5}},
		{"unix:///run/redis.sock?password=p%40ss&db=1", Options{Network: "unix", Addr: "/run/redis.sock", Password: "p@ss", DB: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			got, err := ParseURL(tc.url)
			require.NoError(t, err)
			assert.Equal(t, tc.want, *got)
		})
	}
	for _, bad := range []string{
		"localhost:6379",            // no scheme
		"http://localhost",          // another scheme
		"rediss://localhost",        // TLS
		"redis:///0",                // no host
		"redis://localhost/x",       // db not a number
		"redis://localhost/-1",      // negative db
		"unix://",                   // no path
		"unix:///tmp/r.sock?db=two", // db not a number
		"redis://%zz",               // not a URL
	} {
		_, err := ParseURL(bad)
		assert.Error(t, err, bad)
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100, max: 1000}
	for _, step := range []int64{100, 200, 400, 800, 1000, 1000} {
		d := int64(b.next())
		assert.GreaterOrEqual(t, d, step/2)
		assert.LessOrEqual(t, d, step)
	}
	b.failures = 1000 // no overflow however long the outage
	assert.LessOrEqual(t, int64(b.next()), int64(1000))
	b.reset()
	assert.LessOrEqual(t, int64(b.next()), int64(100))
}
