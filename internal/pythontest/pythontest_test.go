package pythontest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/scripttest"
)

// A shims directory on PATH gives way to the directory of the
// interpreter it stands for; the rest of PATH keeps its order.
func TestUnshimReplacesTheShimsDirectory(t *testing.T) {
	root := t.TempDir()
	real, shims, other := filepath.Join(root, "versions", "bin"), filepath.Join(root, "shims"), filepath.Join(root, "other")
	for _, d := range []string{real, shims, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The shim runs pyenv in life; here it answers as the interpreter
	// would.
	shim := "#!/bin/sh\n# pyenv shim\necho " + filepath.Join(real, "python3") + "\n"
	scripttest.Write(t, filepath.Join(shims, "python3"), shim)
	t.Setenv("PATH", strings.Join([]string{other, shims, "/usr/bin", "/bin"}, string(os.PathListSeparator)))
	Unshim()
	want := strings.Join([]string{other, real, "/usr/bin", "/bin"}, string(os.PathListSeparator))
	if got := os.Getenv("PATH"); got != want {
		t.Errorf("PATH %s, want %s", got, want)
	}
	// Nothing to replace: PATH stays.
	Unshim()
	if got := os.Getenv("PATH"); got != want {
		t.Errorf("PATH %s after a second call, want %s", got, want)
	}
}
