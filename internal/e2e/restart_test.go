package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer collects a process's output for failure messages.
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

// freeAddr returns a loopback address that is free now, for a process to
// listen on. Its port is below Linux's ephemeral range (32768 and up), so
// no outgoing connection of this busy test binary can take it before the
// process binds it; only another freeAddr could, one time in thousands.
func freeAddr(t testing.TB) string {
	t.Helper()
	for i := 0; i < 200; i++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000)))
		if err != nil {
			continue
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	t.Fatal("no free port on 127.0.0.1 between 20000 and 32000")
	return ""
}

// startServe starts `workspace-bot serve` as a process, with extra flags
// after the common ones, and waits until it answers /healthz.
func (w *world) startServe(bin, addr, dataDir string, logs *syncBuffer, extra ...string) *exec.Cmd {
	w.t.Helper()
	w.logs = logs
	// The address was free when it was picked, but another process (a
	// second suite on the machine) can take it before serve binds it, and
	// then answers /healthz for it. So serve's own line saying it serves
	// is waited for, and a port taken meanwhile is picked again.
	for try := 0; ; try++ {
		served, taken := strings.Count(logs.String(), "workspace-bot serving"), strings.Count(logs.String(), "address already in use")
		cmd := w.runServe(bin, addr, dataDir, logs, extra...)
		deadline := patience(w.t)
		for time.Now().Before(deadline) {
			out := logs.String()
			if strings.Count(out, "address already in use") > taken && try < 5 {
				cmd.Wait()
				addr = freeAddr(w.t)
				break
			}
			// Below info level serve does not say it serves: then
			// its health alone is taken.
			if strings.Count(out, "workspace-bot serving") > served || slices.Contains(extra, "--log-level") {
				if resp, err := http.Get(w.url + "/healthz"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						return cmd
					}
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !time.Now().Before(deadline) {
			w.t.Fatalf("serve did not become healthy:\n%s", logs.String())
		}
	}
}

// runServe starts serve on addr, and kills it when the test ends.
func (w *world) runServe(bin, addr, dataDir string, logs *syncBuffer, extra ...string) *exec.Cmd {
	w.t.Helper()
	args := []string{"serve", "--listen", addr, "--config", w.cfg, "--data-dir", dataDir,
		"--github-api-url", w.gh.APIURL(), "--workers", "1", "--coalesce-window", "200ms",
		"--log-format", "text", "--shutdown-grace", "1s"}
	cmd := exec.Command(bin, append(args, extra...)...)
	cmd.Env = append(os.Environ(), "WORKSPACE_BOT_WEBHOOK_SECRET="+secret, "GITHUB_TOKEN="+botToken, "WORKSPACE_BOT_GITHUB_TOKEN=")
	cmd.Env = append(cmd.Env, w.serveEnv...)
	if w.serveAs != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: w.serveAs}
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	w.url = "http://" + addr
	return cmd
}

func TestRestartResumesQueuedAndInterruptedRuns(t *testing.T) {
	t.Parallel()
	bin := buildBot(t)
	w := newWorld(t, worldOptions{noServe: true})
	a := w.openPR("acme/core", "slow-a", "", map[string]string{"check.sh": "sleep 2\necho core slow but fine\n"})
	b := w.openPR("acme/lib", "quick-b", "", map[string]string{"README": "lib b\n"})
	shaA, shaB := w.head("acme/core", a), w.head("acme/lib", b)

	dataDir := t.TempDir()
	addr := freeAddr(t)
	logs := &syncBuffer{}
	first := w.startServe(bin, addr, dataDir, logs)
	w.send("pull_request", w.prPayload("opened", "acme/core", a))
	w.waitFor("run A to start", func() bool {
		return strings.HasPrefix(w.status("acme/core", shaA).Description, "running")
	})
	w.send("pull_request", w.prPayload("opened", "acme/lib", b))
	w.waitFor("run B to be queued", func() bool {
		return strings.HasPrefix(w.status("acme/lib", shaB).Description, "queued")
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	if st := w.status("acme/core", shaA); st.State != "pending" {
		t.Fatalf("run A reported %+v before the kill; the test did not interrupt it", st)
	}

	second := w.startServe(bin, addr, dataDir, logs)
	stA := w.waitState("acme/core", shaA, "success")
	stB := w.waitState("acme/lib", shaB, "success")
	if !strings.HasPrefix(stA.TargetURL, w.url+"/runs/") || !strings.HasPrefix(stB.TargetURL, w.url+"/runs/") {
		t.Errorf("target URLs %q %q", stA.TargetURL, stB.TargetURL)
	}
	w.waitFor("one summary on A", func() bool { return len(w.summaries("acme/core", a)) == 1 })
	if !strings.Contains(logs.String(), "resuming work a previous process left unfinished") {
		t.Errorf("the second process did not requeue anything:\n%s", logs.String())
	}

	// SIGTERM shuts down cleanly.
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- second.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("serve did not stop on SIGTERM:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), botToken) || strings.Contains(logs.String(), secret) {
		t.Fatal("a secret reached the logs")
	}
}
