//go:build race

package ws

// raceEnabled reports a -race build, in which sync.Pool drops a share of
// what it is given, so tests of pooled allocations cannot hold.
const raceEnabled = true
