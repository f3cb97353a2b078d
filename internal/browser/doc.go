// Package browser launches a headless Chromium for tests, and its tests
// drive the chat of cmd/chat in it through package cdp: two pages talk,
// markup in a message stays text, every request stays on the chat's
// origin, and the page's controls have their accessible names.
//
// The tests need /usr/bin/chromium (Debian: apt-get install chromium).
// Without it they skip, unless CI=true, when they fail.
package browser
