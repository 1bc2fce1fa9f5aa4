package scripttest

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// TestRunAsSoonAsWritten: scripts written while other goroutines start
// processes run at once, none refused as busy.
func TestRunAsSoonAsWritten(t *testing.T) {
	dir := t.TempDir()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				exec.Command("true").Run()
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	for i := 0; i < 100; i++ {
		p := filepath.Join(dir, fmt.Sprintf("s%d", i))
		Write(t, p, "#!/bin/sh\necho ok\n")
		if out, err := exec.Command(p).Output(); err != nil || string(out) != "ok\n" {
			t.Fatalf("script %d: %q, %v", i, out, err)
		}
	}
}
