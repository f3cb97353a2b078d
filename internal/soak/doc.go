// Package soak opens and closes thousands of WebSocket connections
// against an in-process echo server built on ws.Accept, and checks that
// nothing is left behind: every goroutine ends and the heap returns to
// its size before the run. It is for tests only.
package soak
