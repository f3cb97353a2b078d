package handshake

import (
	"crypto/sha1"
	"encoding/base64"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// acceptKeyReference is AcceptKey written the obvious way.
func acceptKeyReference(key string) string {
	h := sha1.New()
	io.WriteString(h, key+guid)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func TestAcceptKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		want string
	}{
		// RFC 6455 §1.3 and §4.2.2: the worked example.
		{"RFC 6455 example", "dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
		{"empty key", "", acceptKeyReference("")},
		{"key past the stack buffer", strings.Repeat("k", 200), acceptKeyReference(strings.Repeat("k", 200))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, AcceptKey(tc.key))
		})
	}
}

func TestAcceptKeyAllocs(t *testing.T) {
	// The returned string is the only allocation.
	allocs := testing.AllocsPerRun(100, func() {
		_ = AcceptKey("dGhlIHNhbXBsZSBub25jZQ==")
	})
	assert.Equal(t, 1.0, allocs)
}

func TestNewKey(t *testing.T) {
	t.Parallel()
	k1, k2 := newKey(), newKey()
	// RFC 6455 §4.1 item 7: 16 random bytes, base64-encoded, fresh each time.
	raw, err := base64.StdEncoding.DecodeString(k1)
	require.NoError(t, err)
	assert.Len(t, raw, 16)
	assert.NoError(t, checkKey(k1))
	assert.NotEqual(t, k1, k2)
}

func BenchmarkAcceptKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		AcceptKey("dGhlIHNhbXBsZSBub25jZQ==")
	}
}
