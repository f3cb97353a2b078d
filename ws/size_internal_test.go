package ws

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestConnSize guards what every connection holds: a Conn fits the
// runtime's 1280-byte size class (the next is 1408), so a field added
// must earn its bytes or take them from elsewhere (field order, lazily
// made parts).
func TestConnSize(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Conn{}), uintptr(1280))
}
