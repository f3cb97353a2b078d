// Package autobahn runs this module against Autobahn|Testsuite, the
// reference conformance suite for RFC 6455, which ships as the Docker
// image crossbario/autobahn-testsuite.
//
// It holds the suite's spec files (fuzzingclient.json tests the echo
// server in examples/echo, fuzzingserver.json tests our client), the echo
// loop that our client runs for each case ([Echo], used by the program in
// client/), and the check of the reports the suite writes ([Check]). The
// Docker-driven test is opt-in: it runs only with AUTOBAHN=1. See
// README.md for the commands.
package autobahn
