package main

import (
	"os"
	"testing"

	"github.com/ab7c482b/websocket/internal/leakcheck"
)

// TestMain fails the package if any test leaves a goroutine running once
// its rooms, servers and clients are closed: every client's Serve, its
// reader and its send queue must have returned.
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m)) }
