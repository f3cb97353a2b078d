package conformance

import (
	"fmt"

	"github.com/ab7c482b/websocket/frame"
)

// Section 9 (limits and throughput) and section 10.1 (fragmented by the
// raw side). Timings are logged for the large cases.
func limitCases() []testCase {
	const (
		kib = 1 << 10
		mib = 1 << 20
	)
	sizes := []int{64 * kib, 256 * kib, mib, 4 * mib, 16 * mib}
	var cs []testCase
	for s, dt := range dataTypes {
		for i, n := range sizes {
			p := payload(dt.op, n)
			cs = append(cs, echoCase(fmt.Sprintf("9.%d.%d", 1+s, i+1), fmt.Sprintf("%s message of %s", dt.name, byteSize(n)),
				[]wireFrame{{fin: true, op: dt.op, payload: p}}, msg(dt.op, p)))
		}
	}
	for s, dt := range dataTypes {
		p := payload(dt.op, 4*mib)
		for i, size := range []int{64, 4 * kib, 64 * kib, mib} {
			cs = append(cs, echoCase(fmt.Sprintf("9.%d.%d", 3+s, i+1), fmt.Sprintf("%s message of 4 MiB in fragments of %s", dt.name, byteSize(size)),
				fragments(dt.op, p, size), msg(dt.op, p)))
		}
	}
	for s, dt := range dataTypes {
		p := payload(dt.op, mib)
		for i, chop := range []int{64, 4 * kib, 64 * kib} {
			cs = append(cs, chopped(echoCase(fmt.Sprintf("9.%d.%d", 5+s, i+1), fmt.Sprintf("%s message of 1 MiB written in chops of %s", dt.name, byteSize(chop)),
				[]wireFrame{{fin: true, op: dt.op, payload: p}}, msg(dt.op, p)), chop))
		}
	}
	for s, dt := range dataTypes {
		for i, n := range []int{16, 4 * kib} {
			p := payload(dt.op, n)
			send := make([]wireFrame, 1000)
			want := make([]event, 1000)
			for j := range send {
				send[j] = wireFrame{fin: true, op: dt.op, payload: p}
				want[j] = msg(dt.op, p)
			}
			cs = append(cs, echoCase(fmt.Sprintf("9.7.%d", 2*s+i+1), fmt.Sprintf("1000 %s messages of %s", dt.name, byteSize(n)), send, want...))
		}
	}
	over := payload(frame.OpBinary, readLimit+1)
	cs = append(cs,
		failCase("9.8.1", fmt.Sprintf("binary message of %d bytes, 1 over the read limit", readLimit+1), frame.CloseMessageTooBig,
			[]wireFrame{binary(over)}),
		failCase("9.8.2", "binary message over the read limit in fragments of 1 MiB: fails at the fragment that crosses it", frame.CloseMessageTooBig,
			fragments(frame.OpBinary, over, mib)),
	)
	return cs
}

func miscCases() []testCase {
	var cs []testCase
	for s, dt := range dataTypes {
		p := payload(dt.op, 65536)
		cs = append(cs, echoCase(fmt.Sprintf("10.1.%d", s+1), fmt.Sprintf("%s message of 65536 bytes in fragments of 1300", dt.name),
			fragments(dt.op, p, 1300), msg(dt.op, p)))
	}
	return cs
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
