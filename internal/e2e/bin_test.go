package e2e

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/provide-io/workspace-bot/internal/pgtest"
)

// The workspace-bot binary is built once per test binary and removed
// after the run.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Each test here is a service, an emulator and their processes, and
	// spends most of its time waiting on them (coalescing windows, builds,
	// retries): run four at once, not one per core, unless -parallel says.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", "4")
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	// A server left running would outlive the tests.
	if err := pgtest.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// buildBot returns the workspace-bot binary, building it on first use.
func buildBot(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "workspace-bot-e2e-*")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "workspace-bot")
		build := exec.Command("go", "build", "-o", binPath, "./cmd/workspace-bot")
		build.Dir = "../.."
		if out, err := build.CombinedOutput(); err != nil {
			binErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("build workspace-bot: %v", binErr)
	}
	return binPath
}
