package autobahn

import (
	"os"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckSample(t *testing.T) {
	cases, failed, err := Check(os.DirFS("testdata/report"))
	require.NoError(t, err)
	assert.Equal(t, 6, cases)
	// INFORMATIONAL passes; FAILED, NON-STRICT, UNCLEAN and UNIMPLEMENTED
	// do not. Failures come in case order, 1.1.9 before 1.1.10.
	want := []Failure{
		{
			Agent: "websocket", Case: "1.1.9",
			Result:       Result{Behavior: "FAILED", BehaviorClose: "OK", ReportFile: "websocket_case_1_1_9.json"},
			Description:  "A made-up case: send a text message of 9 bytes.",
			Outcome:      "Actual events differ from any expected.",
			OutcomeClose: "Connection was properly closed",
		},
		{
			Agent: "websocket", Case: "2.10",
			Result:       Result{Behavior: "NON-STRICT", BehaviorClose: "OK", ReportFile: "websocket_case_2_10.json"},
			Description:  "A made-up case: send several pings in a row.",
			Outcome:      "Actual events match at least one expected.",
			OutcomeClose: "Connection was properly closed",
		},
		{
			Agent: "websocket", Case: "5.1",
			Result:       Result{Behavior: "OK", BehaviorClose: "UNCLEAN", ReportFile: "websocket_case_5_1.json"},
			Description:  "A made-up case: send a fragmented ping.",
			Outcome:      "Actual events match at least one expected.",
			OutcomeClose: "The spec requires the connection to be failed cleanly here",
		},
	}
	require.Len(t, failed, 4)
	assert.Equal(t, want, failed[:3])
	// A missing report file still names the case, with why there is no
	// description.
	assert.Equal(t, "7.13.1", failed[3].Case)
	assert.Equal(t, "UNIMPLEMENTED", failed[3].Behavior)
	assert.Contains(t, failed[3].Description, "websocket_case_7_13_1_missing.json")
	assert.Equal(t,
		"case 1.1.9 (websocket): behavior FAILED, close OK: A made-up case: send a text message of 9 bytes. "+
			"[Actual events differ from any expected. / Connection was properly closed]",
		failed[0].String())
}

func TestCheckErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
	}{
		{"no index", fstest.MapFS{}},
		{"not JSON", fstest.MapFS{"index.json": {Data: []byte("<html>")}}},
		{"wrong shape", fstest.MapFS{"index.json": {Data: []byte(`{"websocket": ["1.1.1"]}`)}}},
		{"no cases", fstest.MapFS{"index.json": {Data: []byte(`{"websocket": {}}`)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Check(tc.files)
			assert.Error(t, err)
		})
	}
}

func TestResultPassed(t *testing.T) {
	for _, tc := range []struct {
		behavior, close string
		want            bool
	}{
		{"OK", "OK", true},
		{"INFORMATIONAL", "INFORMATIONAL", true},
		{"OK", "INFORMATIONAL", true},
		{"NON-STRICT", "OK", false},
		{"FAILED", "OK", false},
		{"UNIMPLEMENTED", "OK", false},
		{"OK", "UNCLEAN", false},
		{"OK", "WRONG CODE", false},
		{"OK", "FAILED BY CLIENT", false},
		{"", "", false},
	} {
		r := Result{Behavior: tc.behavior, BehaviorClose: tc.close}
		assert.Equal(t, tc.want, r.Passed(), "%s/%s", tc.behavior, tc.close)
	}
}

func TestCompareCaseIDs(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.1.9", "1.1.10", -1},
		{"1.1.10", "1.1.9", 1},
		{"2.10", "2.9", 1},
		{"5.1", "5.1", 0},
		{"9", "9.1", -1},
		{"12.1.1", "9.8.6", 1},
	} {
		assert.Equal(t, tc.want, compareCaseIDs(tc.a, tc.b), "%s vs %s", tc.a, tc.b)
	}
}
