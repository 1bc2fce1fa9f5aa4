package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// nobody is the unprivileged user the service runs as here: it cannot make
// namespaces, so the service has no sandbox.
const nobody = 65534

// openToNobody lets the unprivileged user reach path: every directory
// from it up to the temp dir is made traversable.
func openToNobody(t *testing.T, path string) {
	t.Helper()
	tmp := filepath.Clean(os.TempDir())
	for p := filepath.Clean(path); p != tmp && p != "/" && strings.HasPrefix(p, tmp); p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.IsDir() {
			if err := os.Chmod(p, fi.Mode().Perm()|0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestForkBuildsNeedASandbox runs the real serve where no sandbox can be
// made (as an unprivileged user, where the kernel refuses it user
// namespaces) and has a trusted maintainer approve a
// fork's PR: the build is refused with an error, before any of the
// fork's code is checked out, and a start-up line said so. A PR from
// the repository itself still builds, unsandboxed, and with
// --allow-unsandboxed the fork's approved heads build too.
func TestForkBuildsNeedASandbox(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run serve as an unprivileged user, where no sandbox can be made")
	}
	t.Parallel()
	bin := buildBot(t)
	w := newWorld(t, worldOptions{noServe: true})
	openToNobody(t, bin)
	openToNobody(t, w.cfg)
	dataDir, home := t.TempDir(), t.TempDir()
	for _, d := range []string{dataDir, home} {
		openToNobody(t, d)
		if err := os.Chown(d, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	w.serveAs = &syscall.Credential{Uid: nobody, Gid: nobody}
	w.serveEnv = []string{"HOME=" + home}

	if err := w.gh.CreateRepo("eve/lib", githubtest.RepoOptions{ForkOf: "acme/lib"}); err != nil {
		t.Fatal(err)
	}
	w.push("eve/lib", "patch", map[string]string{"README": "eve was here\n"})
	fork, err := w.gh.OpenPR(githubtest.NewPR{Repo: "acme/lib", Head: "patch", HeadRepo: "eve/lib", User: "eve", AuthorAssociation: "FIRST_TIME_CONTRIBUTOR"})
	if err != nil {
		t.Fatal(err)
	}
	w.gh.SetPermission("acme/lib", "alice", "maintain")
	own := w.openPR("acme/core", "own-change", "", map[string]string{"README": "core, changed\n"})

	logs := &syncBuffer{}
	addr := freeAddr(t)
	first := w.startServe(bin, addr, dataDir, logs)
	w.waitFor("the start-up line about the sandbox", func() bool {
		return strings.Contains(logs.String(), "builds of untrusted forks' PRs are refused") ||
			strings.Contains(logs.String(), "build steps run in a sandbox")
	})
	if strings.Contains(logs.String(), "build steps run in a sandbox") {
		t.Skip("this kernel lets an unprivileged user make a sandbox (user namespaces), so serve has one and the refusal cannot be provoked")
	}

	w.send("pull_request", w.prPayload("opened", "acme/core", own))
	if st := w.waitState("acme/core", w.head("acme/core", own), "success"); st.State != "success" {
		t.Fatalf("the repository's own PR: %+v", st)
	}

	head := w.head("acme/lib", fork)
	// The fork's head waits; an approval covers it once the bot has seen
	// it before the comment (GitHub's comment times are to the second).
	w.send("pull_request", w.prPayload("opened", "acme/lib", fork))
	w.waitFor("the fork waiting", func() bool {
		return strings.HasPrefix(w.status("acme/lib", head).Description, "waiting for a trusted")
	})
	time.Sleep(1100 * time.Millisecond)
	p, _ := w.comment("acme/lib", fork, "alice", "MEMBER", "/workspace test")
	w.send("issue_comment", p)
	st := w.waitState("acme/lib", head, "error")
	if !strings.Contains(st.Description, "sandbox") {
		t.Errorf("the refused fork build says %q, not why", st.Description)
	}
	w.waitFor("a summary saying why the fork was not built, and the fix", func() bool {
		for _, c := range w.summaries("acme/lib", fork) {
			if strings.Contains(c.Body, "none can be made") && strings.Contains(c.Body, "--allow-unsandboxed") {
				return true
			}
		}
		return false
	})
	if entries, _ := os.ReadDir(filepath.Join(dataDir, "mirrors")); len(entries) > 0 {
		for _, e := range entries {
			if strings.Contains(e.Name(), "eve") {
				t.Errorf("the fork was fetched before the build was refused: %s", e.Name())
			}
		}
	}

	first.Process.Signal(syscall.SIGTERM)
	first.Wait()
	// No cgroup either, as an unprivileged user: the fork needs both.
	w.startServe(bin, addr, dataDir, logs, "--allow-unsandboxed", "--allow-unlimited")
	p, _ = w.comment("acme/lib", fork, "alice", "MEMBER", "/workspace test")
	w.send("issue_comment", p)
	w.waitState("acme/lib", head, "success")
	if !strings.Contains(logs.String(), "untrusted forks' included (--allow-unsandboxed)") {
		t.Errorf("no start-up line about unsandboxed fork builds:\n%s", logs.String())
	}
}
