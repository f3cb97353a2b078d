//go:build race

package frame_test

// poolSlack is the allocations per operation that a -race build adds to
// code that borrows buffers from a sync.Pool, which then drops a share of
// what it is given.
const poolSlack = 4
