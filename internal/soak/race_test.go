//go:build race

package soak

// The race detector slows every connection several times over and limits
// a process to 8128 goroutines: fewer connections.
const (
	total      = 4000
	concurrent = 200
)
