//go:build linux

package browser_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/testpeer"
	"github.com/stretchr/testify/assert"
)

// TestChatBehindProxy opens the chat through nginx in front of two chat
// processes that share the room through Redis: the page and its
// WebSocket pass the proxy, and two pages talk.
func TestChatBehindProxy(t *testing.T) {
	requireChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()

	bin := buildChat(ctx, t, dir)
	rds := testpeer.StartRedis(t, nil)
	var upstreams []string
	for range 2 {
		s := startChat(ctx, t, bin, "127.0.0.1:0", "-redis", rds.URL())
		upstreams = append(upstreams, strings.TrimPrefix(s.URL, "http://"))
	}
	proxy := testpeer.StartNginx(t, upstreams)

	client := startBrowser(ctx, t, dir)
	v := viewport{Width: 900, Height: 700, Scale: 1}
	one := openPage(ctx, t, client, "one", proxy.URL(), v)
	two := openPage(ctx, t, client, "two", proxy.URL(), v)
	for _, p := range []*page{one, two} {
		p.waitFor(ctx, `document.getElementById('status').dataset.state === 'online'`)
	}
	hello := "Hello through nginx."
	one.typeInto(ctx, "message", hello)
	one.pressEnter(ctx)
	reply := "Heard you, whichever node you are on."
	two.waitForBubble(ctx, hello)
	two.typeInto(ctx, "message", reply)
	two.pressEnter(ctx)
	one.waitForBubble(ctx, reply)

	for _, p := range []*page{one, two} {
		assert.NotEmpty(t, p.assertSockets(proxy.Addr), "%s: a WebSocket, through the proxy", p.name)
	}
}
