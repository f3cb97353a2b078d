//go:build race

package conformance

// raceEnabled builds examples/echo with the race detector too when the
// suite runs with it, so races in the server side are caught as well.
const raceEnabled = true
