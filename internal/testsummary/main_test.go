package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSummarizeCountsAndShowsFailures(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"quiet\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"boom\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestB"}`,
		`{"Action":"skip","Package":"p","Test":"TestC"}`,
		`{"Action":"fail","Package":"p","Elapsed":1.5}`,
		`# p [build failed]`,
	}, "\n")
	var out strings.Builder
	c, err := summarize(strings.NewReader(in), &out)
	require.NoError(t, err)
	assert.Equal(t, counts{passed: 1, failed: 1, skipped: 1, pkgFailed: 1}, c)
	assert.Contains(t, out.String(), "boom")
	assert.NotContains(t, out.String(), "quiet", "a passing test's output is not shown")
	assert.Contains(t, out.String(), "fail p 1.5s")
	assert.Contains(t, out.String(), "# p [build failed]")
}
