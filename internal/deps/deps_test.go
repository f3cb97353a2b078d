package deps

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/ab7c482b/websocket"

// allowed maps a package pattern to the module packages its non-test code
// may import; the standard library is always allowed. A new edge changes
// this table in the same commit, with a reason.
var allowed = map[string][]string{
	"frame":     nil,
	"handshake": nil,
	"ws":        {"frame", "handshake"},
	"cmd/*":     {"ws"},
	// The chat shares a room between processes through Redis; the
	// module takes no dependency for it, so the client is internal.
	"cmd/chat": {"ws", "internal/redis"},
	"examples/*": {
		"ws",
		"handshake", // handshake.Error tells a refused upgrade's status
	},
	"internal/*": {"*"},
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"/...").Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.NotEmpty(t, lines)
	for _, line := range lines {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module+"/")
		rule, ok := ruleFor(pkg)
		if !assert.True(t, ok, "package %s has no row in the dependency table", pkg) {
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module+"/") && isStd(imp) {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			assert.True(t, permits(rule, dep), "%s imports %s, which the table does not allow", pkg, imp)
		}
	}
}

func TestTableCatchesBadEdge(t *testing.T) {
	rule, ok := ruleFor("frame")
	require.True(t, ok)
	assert.False(t, permits(rule, "ws"), "frame must not import ws")
	rule, ok = ruleFor("handshake")
	require.True(t, ok)
	assert.False(t, permits(rule, "frame"), "handshake must not import frame")
	rule, ok = ruleFor("examples/echo")
	require.True(t, ok)
	assert.False(t, permits(rule, "internal/wstest"), "examples use the public API only")
	rule, ok = ruleFor("cmd/chat")
	require.True(t, ok)
	assert.True(t, permits(rule, "internal/redis"), "cmd/chat's own row wins over cmd/*")
	rule, ok = ruleFor("cmd/other")
	require.True(t, ok)
	assert.False(t, permits(rule, "internal/redis"), "and is for cmd/chat alone")
	assert.False(t, isStd("github.com/stretchr/testify/require"))
	assert.True(t, isStd("net/http"))
}

// ruleFor returns the row for pkg: its own, or else its pattern's.
func ruleFor(pkg string) ([]string, bool) {
	if deps, ok := allowed[pkg]; ok {
		return deps, true
	}
	for pattern, deps := range allowed {
		nested := strings.HasSuffix(pattern, "/*") && strings.HasPrefix(pkg, strings.TrimSuffix(pattern, "*"))
		if pattern == pkg || nested {
			return deps, true
		}
	}
	return nil, false
}

func permits(rule []string, dep string) bool {
	for _, d := range rule {
		if d == "*" || d == dep {
			return true
		}
	}
	return false
}

// isStd reports whether an import path belongs to the standard library,
// whose paths have no dot in their first element.
func isStd(imp string) bool {
	first, _, _ := strings.Cut(imp, "/")
	return !strings.Contains(first, ".")
}
