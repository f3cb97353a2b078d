package ws_test

import (
	"os"
	"testing"

	"github.com/ab7c482b/websocket/internal/leakcheck"
)

// TestMain fails the package if any test, parallel ones included, leaves a
// goroutine running: every connection the tests open, over pipes or
// loopback TCP, must be closed and every goroutine joined.
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m)) }
