// Package testprog builds the module's programs (examples/echo, cmd/chat
// and the other examples) and runs them as subprocesses for the suites
// that test them from outside over TCP: internal/conformance and
// internal/hostile. It is for tests only.
package testprog
