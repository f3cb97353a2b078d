//go:build !race

package frame_test

const poolSlack = 0
