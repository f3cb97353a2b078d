package frame_test

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/ab7c482b/websocket/frame"
)

func ExampleParseHeader() {
	payload := []byte("hello")
	wire := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpText, Length: int64(len(payload))})
	wire = append(wire, payload...)
	fmt.Printf("wire: % x\n", wire)

	h, n, err := frame.ParseHeader(wire)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("fin=%v opcode=%v masked=%v length=%d header=%d bytes\n", h.Fin, h.Opcode, h.Masked, h.Length, n)
	fmt.Printf("payload: %s\n", wire[n:n+int(h.Length)])
	// Output:
	// wire: 81 05 68 65 6c 6c 6f
	// fin=true opcode=text masked=false length=5 header=2 bytes
	// payload: hello
}

func ExampleMask() {
	// The masked "Hello" of RFC 6455 §5.7, with key 37 fa 21 3d.
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	p := []byte("Hello")
	frame.Mask(key, 0, p)
	fmt.Printf("masked:   % x\n", p)

	// Unmask it in two chunks, carrying the key position between them.
	pos := frame.Mask(key, 0, p[:2])
	frame.Mask(key, pos, p[2:])
	fmt.Printf("unmasked: %s\n", p)
	// Output:
	// masked:   7f 9f 4d 51 58
	// unmasked: Hello
}

func ExampleMessageReader() {
	// A fragmented text message with a ping between its fragments
	// (RFC 6455 §5.4), as a server sends it to a client.
	stream := "\x01\x03Hel\x89\x04ping\x80\x02lo"
	m := &frame.MessageReader{Limit: 1 << 20}
	m.Control = func(h frame.Header, payload []byte) error {
		fmt.Printf("control: %v %q\n", h.Opcode, payload)
		return nil
	}
	m.Reset(bufio.NewReader(strings.NewReader(stream)))

	h, err := m.Next()
	if err != nil {
		fmt.Println(err)
		return
	}
	msg, err := io.ReadAll(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("message: %v %q\n", h.Opcode, msg)

	_, err = m.Next()
	fmt.Println("then:", err)
	// Output:
	// control: ping "ping"
	// message: text "Hello"
	// then: EOF
}

func ExampleUTF8() {
	var v frame.UTF8
	// The euro sign E2 82 AC arrives split across two frames.
	fmt.Println(v.Write([]byte("price: \xe2")), v.Write([]byte("\x82\xac")), v.Done())
	// A surrogate (ED A0 80) fails at its second byte, before its frame
	// ends (RFC 6455 §8.1).
	fmt.Println(v.Write([]byte("\xed")), v.Write([]byte("\xa0")))
	// Output:
	// true true true
	// true false
}
