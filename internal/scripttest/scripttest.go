// Package scripttest writes executable files for tests that run them
// while other tests in the same process start processes.
package scripttest

import (
	"os"
	"syscall"
	"testing"
)

// Write writes an executable file while this process forks nothing: a
// child forked with the file open for writing keeps it open until its
// exec, and running the file meanwhile fails with "text file busy".
func Write(t testing.TB, path, content string) {
	t.Helper()
	syscall.ForkLock.RLock()
	err := os.WriteFile(path, []byte(content), 0o755)
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
}
