//go:build race

package hostile

// raceEnabled builds the servers with the race detector too when the
// suite runs with it, so that races on the servers' side are caught.
const raceEnabled = true
