package ci

import (
	"os"
	"testing"

	"github.com/provide-io/workspace-bot/internal/pythontest"
)

// TestMain finds the Python interpreter once, where pyenv's shims would
// look it up again on every call the runner and the steps make.
func TestMain(m *testing.M) {
	pythontest.Unshim()
	os.Exit(m.Run())
}
