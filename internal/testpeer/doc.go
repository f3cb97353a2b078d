// Package testpeer starts the real servers that tests talk to, each in
// the foreground in the test's temporary directory: redis-server on a
// Unix socket (and a loopback port if asked), and nginx in front of
// WebSocket servers. The test's cleanup stops each by its process id.
//
// Without the program, the test skips with a message saying what to
// install, unless the environment has CI=true, when it fails: CI
// installs them (see .ci/run).
package testpeer
