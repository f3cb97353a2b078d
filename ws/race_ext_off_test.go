//go:build !race

package ws_test

const poolSlack = 0
