// Package deps holds a test that keeps the module's dependency direction
// as STYLE.md draws it: frame and handshake stand on the standard library
// alone, ws builds on both, and the programs use only ws.
package deps
