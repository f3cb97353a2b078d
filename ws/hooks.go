package ws

import "sync"

// closeHooks are functions a Conn runs once, when CloseNow closes its
// transport: Groups forget the Conn, and idle Queues stop.
type closeHooks struct {
	mu    sync.Mutex
	hooks []closeHook
	done  bool
}

type closeHook struct {
	owner any // a *Group or *Queue; one hook each
	fn    func()
}

// add registers fn for owner, unless owner has one already, and reports
// whether the Conn is still open; if not, fn is not registered.
func (h *closeHooks) add(owner any, fn func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return false
	}
	for _, k := range h.hooks {
		if k.owner == owner {
			return true
		}
	}
	h.hooks = append(h.hooks, closeHook{owner, fn})
	return true
}

// run runs the hooks, without holding the lock, so that they may take
// their owners' locks, which add is called under.
func (h *closeHooks) run() {
	h.mu.Lock()
	hooks := h.hooks
	h.hooks, h.done = nil, true
	h.mu.Unlock()
	for _, k := range hooks {
		k.fn()
	}
}
