//go:build race

package ws_test

// poolSlack is the allocations per operation that a -race build adds to
// code that reuses buffers through sync.Pool, which then drops a share of
// what it is given.
const poolSlack = 4
