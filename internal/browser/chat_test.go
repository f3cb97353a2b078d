//go:build linux

package browser_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ab7c482b/websocket/internal/browser"
	"github.com/ab7c482b/websocket/internal/cdp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitTimeout bounds each wait for the page to show something.
const waitTimeout = 15 * time.Second

// screenshotCopy is where the test leaves a copy of the desktop
// screenshot to look at; the phone one goes next to it.
const screenshotCopy = "/tmp/chat-screenshot.png"

// requireChromium skips the test without a browser, or fails it on CI.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(browser.Chromium); err != nil {
		msg := fmt.Sprintf("%s not found (%v); install it with apt-get install -y chromium", browser.Chromium, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

func TestChat(t *testing.T) {
	requireChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()

	bin := buildChat(ctx, t, dir)
	srv := startChat(ctx, t, bin, "127.0.0.1:0")
	chatURL := srv.URL
	origin, err := url.Parse(chatURL)
	require.NoError(t, err)

	client := startBrowser(ctx, t, dir)

	one := openPage(ctx, t, client, "desktop", chatURL, viewport{Width: 1100, Height: 720, Scale: 1})
	two := openPage(ctx, t, client, "phone", chatURL, viewport{Width: 390, Height: 760, Scale: 2, Mobile: true})
	for _, p := range []*page{one, two} {
		p.waitFor(ctx, `document.getElementById('status').dataset.state === 'online'`)
	}

	// Accessible names, as the accessibility tree has them.
	for _, p := range []*page{one, two} {
		assert.True(t, p.hasAXNode(ctx, "textbox", "Message"), "%s: a textbox named Message", p.name)
		assert.True(t, p.hasAXNode(ctx, "button", "Send"), "%s: a button named Send", p.name)
		assert.Equal(t, "polite", p.liveRegion(ctx), "%s: the message list is a polite live region", p.name)
		assert.Equal(t, true, p.eval(ctx, `(() => {
			const l = document.getElementById('message').labels;
			return l.length === 1 && l[0].tagName === 'LABEL' && l[0].textContent === 'Message';
		})()`), "%s: the input's <label>", p.name)
	}

	// Names, typed into the name field and sent with Enter.
	one.typeInto(ctx, "name", "Ada")
	one.pressEnter(ctx)
	two.typeInto(ctx, "name", "Grace")
	two.pressEnter(ctx)
	for _, p := range []*page{one, two} {
		p.waitFor(ctx, `(() => {
			const names = [...document.querySelectorAll('#people .person')].map(e => e.textContent).sort();
			return names.join() === 'Ada,Grace';
		})()`)
	}

	// A message sent with Enter reaches both pages.
	hello := "Hello from the desktop! Anyone on a phone?"
	one.typeInto(ctx, "message", hello)
	one.pressEnter(ctx)
	one.waitForBubble(ctx, hello)
	two.waitForBubble(ctx, hello)

	// Markup sent with the button stays text on both pages.
	const payload = `<img src=x onerror=alert(1)>`
	two.typeInto(ctx, "message", payload)
	two.click(ctx, "send")
	for _, p := range []*page{one, two} {
		p.waitForBubble(ctx, payload)
		assert.Equal(t, true, p.eval(ctx, `(() => {
			const b = [...document.querySelectorAll('#log .bubble')].find(e => e.textContent === `+jsString(payload)+`);
			return b.childElementCount === 0 && document.querySelectorAll('img').length === 0;
		})()`), "%s: the payload is text, and no img element exists", p.name)
	}
	reply := "Yes, Grace here. The markup above shows as plain text."
	two.typeInto(ctx, "message", reply)
	two.pressEnter(ctx)
	one.waitForBubble(ctx, reply)
	two.waitForBubble(ctx, reply)

	// The Send button of each page was pressed by now; give any
	// injected script a round trip to run before the final checks.
	for _, p := range []*page{one, two} {
		p.eval(ctx, `new Promise(r => setTimeout(() => r(true), 100))`)
	}

	shots := map[string]string{}
	for _, p := range []*page{one, two} {
		shots[p.name] = p.screenshot(ctx, dir, p.name)
	}
	copyFile(t, shots["desktop"], screenshotCopy)
	copyFile(t, shots["phone"], strings.TrimSuffix(screenshotCopy, ".png")+"-phone.png")

	// The server restarts: the pages hear 1001, say so, back off, and
	// reconnect to the new server on the same port, telling it the last
	// sequence number they saw and the name they chose.
	t0 := time.Now()
	srv.stop(t)
	for _, p := range []*page{one, two} {
		p.waitFor(ctx, `document.getElementById('status').dataset.state === 'offline' &&
			document.getElementById('status-text').textContent.startsWith('Server restarting')`)
	}
	copyFile(t, two.screenshot(ctx, dir, "phone-offline"), strings.TrimSuffix(screenshotCopy, ".png")+"-offline.png")
	startChat(ctx, t, bin, origin.Host)
	for _, p := range []*page{one, two} {
		p.waitFor(ctx, `document.getElementById('status').dataset.state === 'online' &&
			[...document.querySelectorAll('#log .notice')].some(e => e.textContent.includes('restarted'))`)
	}
	t.Logf("restart: both pages back online %v after SIGTERM", time.Since(t0).Round(time.Millisecond))
	for _, p := range []*page{one, two} {
		assert.Equal(t, true, p.eval(ctx, `(() => {
			const items = [...document.querySelectorAll('#log > li')];
			return items[0].classList.contains('notice') &&
				!items.some(e => e.textContent.includes(`+jsString(hello)+`));
		})()`), "%s: the reset replaced the history the restart lost, under its notice", p.name)
	}
	back := "Back after the restart."
	one.typeInto(ctx, "message", back)
	one.pressEnter(ctx)
	two.waitForBubble(ctx, back)

	for _, p := range []*page{one, two} {
		reqs, _, _ := p.recorded()
		sockets := p.assertSockets(origin.Host)
		require.NotEmpty(t, reqs, "%s: the page load is recorded", p.name)
		require.GreaterOrEqual(t, len(sockets), 2, "%s: a WebSocket before and after the restart", p.name)
		for _, r := range reqs {
			u, err := url.Parse(r)
			if assert.NoError(t, err) {
				assert.Equal(t, origin.Scheme+"://"+origin.Host, u.Scheme+"://"+u.Host, "%s: request to %s", p.name, r)
				assert.NotEqual(t, "/x", u.Path, "%s: the payload's image was fetched", p.name)
			}
		}
		first, _ := url.Parse(sockets[0])
		assert.False(t, first.Query().Has("since"), "%s: a fresh page asks for the usual history", p.name)
		last, _ := url.Parse(sockets[len(sockets)-1])
		assert.Regexp(t, `^[1-9][0-9]*$`, last.Query().Get("since"), "%s: the reconnect resumes", p.name)
		assert.Contains(t, []string{"Ada", "Grace"}, last.Query().Get("name"), "%s: and keeps its name", p.name)
	}
}

// startBrowser launches Chromium with a fresh profile under dir and
// connects to its DevTools; both end with the test.
func startBrowser(ctx context.Context, t *testing.T, dir string) *cdp.Client {
	t.Helper()
	b, err := browser.Launch(ctx, browser.Chromium, filepath.Join(dir, "profile"))
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", b.Stderr())
		}
	})
	client, err := cdp.Dial(ctx, b.DevToolsURL)
	require.NoError(t, err, "our ws client against Chromium's DevTools server")
	t.Cleanup(func() { client.Close() })

	var version struct {
		Product         string `json:"product"`
		ProtocolVersion string `json:"protocolVersion"`
	}
	require.NoError(t, client.Call(ctx, "", "Browser.getVersion", nil, &version))
	t.Logf("browser: %s, protocol %s", version.Product, version.ProtocolVersion)
	return client
}

// buildChat builds cmd/chat into dir and returns the binary's path.
func buildChat(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "chat")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/ab7c482b/websocket/cmd/chat").CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)
	return bin
}

// chatServer is a running cmd/chat.
type chatServer struct {
	URL    string
	cmd    *exec.Cmd
	exited chan error
	logs   syncBuffer
	once   sync.Once
}

// startChat runs the chat binary on addr, with any more flags, and
// returns once it has printed its URL. The test's cleanup stops it if
// stop has not.
func startChat(ctx context.Context, t *testing.T, bin, addr string, flags ...string) *chatServer {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	s := &chatServer{cmd: exec.Command(bin, append([]string{"-addr", addr}, flags...)...), exited: make(chan error, 1)}
	s.cmd.Stdout = w
	s.cmd.Stderr = &s.logs
	require.NoError(t, s.cmd.Start())
	w.Close()
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("chat log (%s):\n%s", addr, s.logs.String())
		}
	})

	line := make(chan string, 1)
	go func() {
		defer r.Close()
		l, _ := bufio.NewReader(r).ReadString('\n')
		line <- l
		io.Copy(io.Discard, r)
	}()
	select {
	case l := <-line:
		u, ok := strings.CutPrefix(strings.TrimSpace(l), "chat: serving ")
		require.True(t, ok, "chat printed %q; log:\n%s", l, s.logs.String())
		require.Regexp(t, `^http://127\.0\.0\.1:[1-9][0-9]*$`, u, "the real port")
		s.URL = u
		return s
	case <-ctx.Done():
		t.Fatalf("chat did not print its URL: %v; log:\n%s", ctx.Err(), s.logs.String())
		return nil
	}
}

// stop sends SIGTERM and expects the chat to close its clients and exit
// cleanly.
func (s *chatServer) stop(t *testing.T) {
	s.once.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-s.exited:
			assert.NoError(t, err, "chat should exit cleanly on SIGTERM")
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
			t.Error("chat did not exit within 20s of SIGTERM")
		}
	})
}

type viewport struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Scale  float64 `json:"deviceScaleFactor"`
	Mobile bool    `json:"mobile"`
}

// page is one browser page, with what it has requested and shown.
type page struct {
	t    *testing.T
	name string
	s    *cdp.Session

	mu       sync.Mutex
	requests []string // Network.requestWillBeSent URLs
	sockets  []string // Network.webSocketCreated URLs
	dialogs  []string // Page.javascriptDialogOpening messages
}

// openPage opens url in a new window of its own (so that it is never a
// throttled background tab) with the viewport v.
func openPage(ctx context.Context, t *testing.T, c *cdp.Client, name, pageURL string, v viewport) *page {
	t.Helper()
	var target struct {
		TargetID string `json:"targetId"`
	}
	require.NoError(t, c.Call(ctx, "", "Target.createTarget", map[string]any{
		"url": "about:blank", "newWindow": true,
	}, &target))
	s, err := c.Attach(ctx, target.TargetID)
	require.NoError(t, err)
	p := &page{t: t, name: name, s: s}

	var dismissals sync.WaitGroup
	t.Cleanup(dismissals.Wait)
	s.On("Network.requestWillBeSent", func(params json.RawMessage) {
		var ev struct {
			Request struct {
				URL string `json:"url"`
			} `json:"request"`
		}
		json.Unmarshal(params, &ev)
		p.mu.Lock()
		p.requests = append(p.requests, ev.Request.URL)
		p.mu.Unlock()
	})
	s.On("Network.webSocketCreated", func(params json.RawMessage) {
		var ev struct {
			URL string `json:"url"`
		}
		json.Unmarshal(params, &ev)
		p.mu.Lock()
		p.sockets = append(p.sockets, ev.URL)
		p.mu.Unlock()
	})
	s.On("Page.javascriptDialogOpening", func(params json.RawMessage) {
		var ev struct {
			Message string `json:"message"`
		}
		json.Unmarshal(params, &ev)
		p.mu.Lock()
		p.dialogs = append(p.dialogs, ev.Message)
		p.mu.Unlock()
		// Dismiss it, or the page would hang; not from this goroutine,
		// which must go on reading.
		dismissals.Go(func() {
			s.Call(ctx, "Page.handleJavaScriptDialog", map[string]any{"accept": false}, nil)
		})
	})
	for _, m := range []string{"Page.enable", "Network.enable", "Runtime.enable"} {
		require.NoError(t, s.Call(ctx, m, nil, nil))
	}
	require.NoError(t, s.Call(ctx, "Emulation.setDeviceMetricsOverride", v, nil))
	loaded := s.Expect("Page.loadEventFired")
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	require.NoError(t, s.Call(ctx, "Page.navigate", map[string]any{"url": pageURL}, &nav))
	require.Empty(t, nav.ErrorText)
	_, err = loaded(ctx)
	require.NoError(t, err)
	return p
}

func (p *page) recorded() (requests, sockets, dialogs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slicesClone(p.requests), slicesClone(p.sockets), slicesClone(p.dialogs)
}

// assertSockets checks that p opened no dialog and that each of its
// WebSockets went to ws://host/ws, and returns their URLs.
func (p *page) assertSockets(host string) []string {
	_, sockets, dialogs := p.recorded()
	assert.Empty(p.t, dialogs, "%s: no dialog may open", p.name)
	for _, s := range sockets {
		u, err := url.Parse(s)
		if assert.NoError(p.t, err) {
			assert.Equal(p.t, "ws://"+host+"/ws", u.Scheme+"://"+u.Host+u.Path, "%s: WebSocket to %s", p.name, s)
		}
	}
	return sockets
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// eval evaluates a JavaScript expression in the page, awaits it if it is
// a promise, and returns its value decoded from JSON.
func (p *page) eval(ctx context.Context, expr string) any {
	p.t.Helper()
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	require.NoError(p.t, p.s.Call(ctx, "Runtime.evaluate", map[string]any{
		"expression":    expr,
		"awaitPromise":  true,
		"returnByValue": true,
	}, &res), "%s: evaluate %s", p.name, expr)
	if e := res.ExceptionDetails; e != nil {
		p.t.Fatalf("%s: %s: %s %s", p.name, expr, e.Text, e.Exception.Description)
	}
	return res.Result.Value
}

// waitFor waits until the JavaScript condition cond is true in the page.
// The page checks it on every change to the document (a
// MutationObserver), so nothing polls; waitTimeout bounds the wait.
func (p *page) waitFor(ctx context.Context, cond string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	js := `new Promise(resolve => {
		const check = () => { try { return Boolean(` + cond + `); } catch { return false; } };
		if (check()) { resolve(true); return; }
		const obs = new MutationObserver(() => {
			if (check()) { obs.disconnect(); resolve(true); }
		});
		obs.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
	})`
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	err := p.s.Call(ctx, "Runtime.evaluate", map[string]any{
		"expression": js, "awaitPromise": true, "returnByValue": true,
	}, &res)
	if err != nil || res.Result.Value != true {
		p.t.Fatalf("%s: waiting for %s: %v", p.name, cond, err)
	}
}

// waitForBubble waits until a message with exactly text is shown.
func (p *page) waitForBubble(ctx context.Context, text string) {
	p.t.Helper()
	p.waitFor(ctx, `[...document.querySelectorAll('#log .bubble')].some(e => e.textContent === `+jsString(text)+`)`)
}

// typeInto focuses the input with id, clears it, and types text as
// keyboard input.
func (p *page) typeInto(ctx context.Context, id, text string) {
	p.t.Helper()
	p.eval(ctx, `(() => { const e = document.getElementById(`+jsString(id)+`); e.focus(); e.select(); return true; })()`)
	require.NoError(p.t, p.s.Call(ctx, "Input.insertText", map[string]any{"text": text}, nil))
}

// pressEnter presses and releases Enter in the focused element.
func (p *page) pressEnter(ctx context.Context) {
	p.t.Helper()
	key := map[string]any{"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13}
	down := map[string]any{"type": "keyDown", "text": "\r"}
	up := map[string]any{"type": "keyUp"}
	for k, v := range key {
		down[k], up[k] = v, v
	}
	require.NoError(p.t, p.s.Call(ctx, "Input.dispatchKeyEvent", down, nil))
	require.NoError(p.t, p.s.Call(ctx, "Input.dispatchKeyEvent", up, nil))
}

// click clicks the middle of the element with id, as a mouse would.
func (p *page) click(ctx context.Context, id string) {
	p.t.Helper()
	v := p.eval(ctx, `(() => {
		const r = document.getElementById(`+jsString(id)+`).getBoundingClientRect();
		return [r.x + r.width / 2, r.y + r.height / 2];
	})()`)
	xy, ok := v.([]any)
	require.True(p.t, ok && len(xy) == 2, "%v", v)
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		require.NoError(p.t, p.s.Call(ctx, "Input.dispatchMouseEvent", map[string]any{
			"type": typ, "x": xy[0], "y": xy[1], "button": "left", "clickCount": 1,
		}, nil))
	}
}

// hasAXNode reports whether the accessibility tree has a node with role
// and accessible name.
func (p *page) hasAXNode(ctx context.Context, role, name string) bool {
	p.t.Helper()
	var res struct {
		Nodes []json.RawMessage `json:"nodes"`
	}
	require.NoError(p.t, p.s.Call(ctx, "Accessibility.queryAXTree", map[string]any{
		"objectId": p.documentObject(ctx), "role": role, "accessibleName": name,
	}, &res))
	return len(res.Nodes) > 0
}

// liveRegion returns the "live" property of the page's log, as the
// accessibility tree has it.
func (p *page) liveRegion(ctx context.Context) string {
	p.t.Helper()
	var res struct {
		Nodes []struct {
			Properties []struct {
				Name  string `json:"name"`
				Value struct {
					Value any `json:"value"`
				} `json:"value"`
			} `json:"properties"`
		} `json:"nodes"`
	}
	require.NoError(p.t, p.s.Call(ctx, "Accessibility.queryAXTree", map[string]any{
		"objectId": p.documentObject(ctx), "role": "log", "accessibleName": "Messages",
	}, &res))
	require.Len(p.t, res.Nodes, 1)
	for _, prop := range res.Nodes[0].Properties {
		if prop.Name == "live" {
			s, _ := prop.Value.Value.(string)
			return s
		}
	}
	return ""
}

func (p *page) documentObject(ctx context.Context) string {
	p.t.Helper()
	var res struct {
		Result struct {
			ObjectID string `json:"objectId"`
		} `json:"result"`
	}
	require.NoError(p.t, p.s.Call(ctx, "Runtime.evaluate", map[string]any{"expression": "document"}, &res))
	return res.Result.ObjectID
}

// screenshot saves a PNG of the page as dir/name.png and returns its path.
func (p *page) screenshot(ctx context.Context, dir, name string) string {
	p.t.Helper()
	require.NoError(p.t, p.s.Call(ctx, "Page.bringToFront", nil, nil))
	var res struct {
		Data string `json:"data"`
	}
	require.NoError(p.t, p.s.Call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &res))
	png, err := base64.StdEncoding.DecodeString(res.Data)
	require.NoError(p.t, err)
	require.True(p.t, bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")), "a PNG")
	path := filepath.Join(dir, name+".png")
	require.NoError(p.t, os.WriteFile(path, png, 0o644))
	p.t.Logf("%s: screenshot %s (%d bytes)", p.name, path, len(png))
	return path
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	require.NoError(t, err)
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Logf("could not copy the screenshot to %s: %v", to, err)
		return
	}
	t.Logf("screenshot copied to %s", to)
}

// syncBuffer is a bytes.Buffer safe for one writer and other readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
