package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithSeq(t *testing.T) {
	t.Parallel()
	body := encode(event{Type: typeMessage, Time: "t", ID: "i", Name: "n", Text: `"<b>"`})
	b := withSeq(42, body)
	assert.True(t, json.Valid(b), string(b))
	assert.Equal(t, `{"seq":42,"type":"message","time":"t","id":"i","name":"n","text":"\"\u003cb\u003e\""}`, string(b))
	var m wire
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, uint64(42), m.Seq)
	assert.Equal(t, `"<b>"`, m.Text)
	assert.Equal(t, `{"seq":18446744073709551615,"type":"x"}`, string(withSeq(1<<64-1, []byte(`{"type":"x"}`))))
}

func TestTimestamp(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 4, 5, 6, 7, 891_000_000, time.FixedZone("X", 3600))
	assert.Equal(t, "2025-03-04T04:06:07.891Z", timestamp(at))
}

func TestCleanName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Ann", "Ann", true},
		{"  Ann Lee \t", "Ann Lee", true},
		{"", "", false},
		{"   ", "", false},
		{strings.Repeat("x", maxName), strings.Repeat("x", maxName), true},
		{strings.Repeat("x", maxName+1), "", false},
		{strings.Repeat("語", maxName), strings.Repeat("語", maxName), true},
		{"a\x00b", "", false},
		{"a\u200bb", "", false}, // zero-width space (Cf)
		{"a\u202eb", "", false}, // right-to-left override (Cf)
		{"a\ufffdb", "", false},
		{"<img src=x>", "<img src=x>", true}, // the page renders it as text
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := cleanName(tc.in)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestBucket(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	b := newBucket(2, 3, t0)
	steps := []struct {
		at       time.Duration
		ok       bool
		wantWait time.Duration
	}{
		{0, true, 0},
		{0, true, 0},
		{0, true, 0}, // the burst of 3 is spent
		{0, false, 500 * time.Millisecond},
		{100 * time.Millisecond, false, 400 * time.Millisecond},
		{400 * time.Millisecond, false, 100 * time.Millisecond},
		{500 * time.Millisecond, true, 0},
		{500 * time.Millisecond, false, 500 * time.Millisecond},
		{time.Hour, true, 0}, // refilled, but only to the burst
		{time.Hour, true, 0},
		{time.Hour, true, 0},
		{time.Hour, false, 500 * time.Millisecond},
		{time.Hour - time.Second, false, 500 * time.Millisecond}, // a clock going back refills nothing
	}
	for i, s := range steps {
		ok, wait := b.take(t0.Add(s.at))
		assert.Equal(t, s.ok, ok, "step %d", i)
		assert.Equal(t, s.wantWait, wait, "step %d", i)
	}

	unlimited := newBucket(0, 1, t0)
	for range 1000 {
		ok, _ := unlimited.take(t0)
		require.True(t, ok)
	}
}
