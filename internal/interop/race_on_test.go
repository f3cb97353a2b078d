//go:build race

package interop

// raceEnabled reports a -race build, which deflates several times slower:
// see peerMode.maxEcho.
const raceEnabled = true
