package e2e

import (
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/provide-io/workspace-bot/internal/phony"
)

// bigOutput is a test that prints n MiB of build output, then passes.
func bigOutput(mib int) string {
	return "yes 'a line of build output that goes on and on, as test output does' | head -c " + itoa(mib<<20) + "\necho printed\n"
}

// TestLargeLogsStreamFromDisk builds a PR whose test prints 40 MiB, then
// has four clients read its log at once from the real serve process. The
// log went through the service to disk and comes back from disk a buffer
// at a time: reading it whole into memory took the service to 790 MB for
// one reader of a 300 MB log and 2.8 GB for four.
func TestLargeLogsStreamFromDisk(t *testing.T) {
	t.Parallel()
	bin := buildBot(t)
	w := newWorld(t, worldOptions{noServe: true})
	logs := &syncBuffer{}
	cmd := w.startServe(bin, freeAddr(t), t.TempDir(), logs)
	pid := cmd.Process.Pid

	n := w.openPR("acme/core", "loud", "", map[string]string{"check.sh": bigOutput(40)})
	w.send("pull_request", w.prPayload("opened", "acme/core", n))
	st := w.waitState("acme/core", w.head("acme/core", n), "success")
	afterRun := procKB(t, pid, "VmHWM")

	const readers = 4
	sizes := make([]int64, readers)
	var wg sync.WaitGroup
	for i := 0; i < readers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(st.TargetURL + "/log")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			sizes[i], _ = io.Copy(io.Discard, resp.Body)
		}()
	}
	wg.Wait()
	afterReads := procKB(t, pid, "VmHWM")
	t.Logf("serve VmHWM: %d MiB after the 40 MiB run, %d MiB after %d readers of its %d-byte log", afterRun>>10, afterReads>>10, readers, sizes[0])
	for _, s := range sizes {
		if s < 40<<20 {
			t.Fatalf("a reader got %d bytes of the log, want all of it (over 40 MiB)", s)
		}
	}
	if afterReads-afterRun > 16<<10 || afterReads > 150<<10 {
		t.Errorf("serve's peak RSS went from %d MiB to %d MiB while %d clients read a %d MiB log", afterRun>>10, afterReads>>10, readers, sizes[0]>>20)
	}
}

// TestFullDiskFailsTheRunNotTheWebhook gives serve a data dir on a 16 MiB
// file system, 8 MiB of it kept for deliveries, and a test that prints
// 20 MiB. The log stops at the
// reserve, the run fails with an error saying why, and deliveries are
// still stored and answered 202: a full disk once cut a log silently at
// 13 MB, and every webhook after it got 503.
func TestFullDiskFailsTheRunNotTheWebhook(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs for the data dir")
	}
	t.Parallel()
	dataDir := t.TempDir()
	if err := syscall.Mount("tmpfs", dataDir, "tmpfs", 0, "size=16m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dataDir, syscall.MNT_DETACH) })

	bin := buildBot(t)
	w := newWorld(t, worldOptions{noServe: true})
	logs := &syncBuffer{}
	w.startServe(bin, freeAddr(t), dataDir, logs, "--disk-reserve", "8MB")

	n := w.openPR("acme/core", "fills-the-disk", "", map[string]string{"check.sh": bigOutput(20)})
	w.send("pull_request", w.prPayload("opened", "acme/core", n))
	st := w.waitState("acme/core", w.head("acme/core", n), "error")
	w.waitFor("a summary saying the log could not be stored, and the fix", func() bool {
		for _, c := range w.summaries("acme/core", n) {
			if strings.Contains(c.Body, "could not be stored") && strings.Contains(c.Body, "--data-dir") {
				return true
			}
		}
		return false
	})
	log := w.logOf(st)
	if !strings.Contains(log, "[... log stopped: ") || !strings.Contains(log, "kept for webhook deliveries") {
		t.Errorf("the log does not end saying why it stopped:\n%s", tail(log, 600))
	}
	page, err := http.Get(st.TargetURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), "could not be stored") || !strings.Contains(string(body), "--data-dir") {
		t.Errorf("the run page does not say why the run failed, or the fix:\n%s", body)
	}

	// The webhook still takes deliveries: 50 comments, each stored.
	for i := 0; i < 50; i++ {
		body, _ := w.comment("acme/core", n, "alice", "MEMBER", "still looking into it")
		resp, err := phony.Send(t.Context(), w.url+"/webhook", "issue_comment", "", body, secret)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("delivery %d on the full disk: %d\n%s", i, resp.StatusCode, tail(logs.String(), 2000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
