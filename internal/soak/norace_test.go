//go:build !race

package soak

// Without the race detector: 10000 connections, 200 at a time.
const (
	total      = 10000
	concurrent = 200
)
