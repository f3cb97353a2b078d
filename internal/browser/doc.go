// Package browser launches a headless Chromium for tests, and its tests
// drive the chat of cmd/chat in it through package cdp: two pages talk,
// markup in a message stays text, every request stays on the chat's
// origin, the page's controls have their accessible names, a restart
// replaces the pages' history under a notice, and two chat processes
// sharing a room through Redis serve pages through nginx. Another test
// has a page negotiate permessage-deflate with a server on ws.Accept in
// each of its compression modes and exchange messages with it both ways.
//
// The tests need /usr/bin/chromium (Debian: apt-get install chromium),
// and the proxy test redis-server and nginx as well. Without them they
// skip, unless CI=true, when they fail.
package browser
