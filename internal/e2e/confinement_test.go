//go:build linux

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/internal/phony"
)

// openFork opens a PR from eve's fork of repo, by an author nobody
// trusts, with files on its branch.
func (w *world) openFork(repo, branch string, files map[string]string) int {
	w.t.Helper()
	fork := "eve/" + strings.SplitN(repo, "/", 2)[1]
	if err := w.gh.CreateRepo(fork, githubtest.RepoOptions{ForkOf: repo}); err != nil {
		w.t.Fatal(err)
	}
	w.push(fork, branch, files)
	n, err := w.gh.OpenPR(githubtest.NewPR{Repo: repo, Head: branch, HeadRepo: fork, User: "eve", AuthorAssociation: "FIRST_TIME_CONTRIBUTOR"})
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// approveForks opens each fork PR to the bot, waits until it waits for
// an approval, and has alice, a maintainer, approve it.
func (w *world) approveForks(prs map[string]int) {
	w.t.Helper()
	for repo, n := range prs {
		w.gh.SetPermission(repo, "alice", "maintain")
		w.send("pull_request", w.prPayload("opened", repo, n))
	}
	for repo, n := range prs {
		head := w.head(repo, n)
		w.waitFor(repo+"'s fork waiting for approval", func() bool {
			return strings.HasPrefix(w.status(repo, head).Description, "waiting for a trusted")
		})
	}
	// An approval covers the heads the bot had seen by the comment's
	// time, which GitHub gives to the second.
	time.Sleep(1100 * time.Millisecond)
	for repo, n := range prs {
		p, _ := w.comment(repo, n, "alice", "MEMBER", "/workspace test")
		w.send("issue_comment", p)
	}
}

// summaryOf is the bot's summary comment on a PR, once it has a final
// result.
func (w *world) summaryOf(repo string, n int) string {
	w.t.Helper()
	var body string
	w.waitFor("the summary on "+repo, func() bool {
		for _, c := range w.summaries(repo, n) {
			if !strings.Contains(c.Body, "queued") {
				body = c.Body
				return true
			}
		}
		return false
	})
	return body
}

// healthy says serve still answers.
func (w *world) healthy() bool {
	resp, err := http.Get(w.url + "/healthz")
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// probe is a shell line that tries to reach host:port and says whether
// it did, for the step's log.
func probe(label, hostPort string) string {
	host, port, _ := strings.Cut(hostPort, ":")
	return fmt.Sprintf(`if timeout 5 bash -c 'exec 3<>/dev/tcp/%s/%s' 2>/dev/null; then echo "%s: REACHED"; else echo "%s: unreachable"; fi`+"\n", host, port, label, label)
}

// TestForkAttacksFailInTheDefaultDeployment runs the real serve as the
// README deploys it (as root, no --build-user, no other flag), and has a
// maintainer approve three forks' PRs, each an attack from its test step:
// reading a root-owned file and reaching the service's port, the GitHub
// it talks to and the cloud metadata address; a fork bomb; an
// allocation loop. Each attack fails; the fork bomb and the allocation
// end their runs with a failure that names the limit; a maintainer's own
// PR built beside them passes; the service answers throughout; and
// every PR gets a final status and a summary saying how its steps ran.
func TestForkAttacksFailInTheDefaultDeployment(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the default deployment runs serve as root, and a throwaway uid needs it")
	}
	if err := ci.SandboxAvailable(); err != nil {
		t.Fatalf("serve runs as root here and cannot make a sandbox: %v", err)
	}
	t.Parallel()
	bin := buildBot(t)
	// The limit and the allocation are small enough that a busy test
	// machine's own memory never runs short before the run's does.
	w := newWorld(t, worldOptions{noServe: true, ci: "limits = { memory = \"256MB\", pids = 256 }\n"})
	secretDir, err := os.MkdirTemp("/var/tmp", "root-keeps-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(secretDir) })
	os.Chmod(secretDir, 0o755)
	secret := filepath.Join(secretDir, "id_ed25519")
	key := fmt.Sprintf("deploy-key-%d", time.Now().UnixNano())
	if err := os.WriteFile(secret, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}

	logs := &syncBuffer{}
	addr := freeAddr(t)
	w.startServe(bin, addr, t.TempDir(), logs, "--workers", "2")
	limitsHere := ci.LimitsAvailable() == nil

	api, err := url.Parse(w.gh.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	apiHost := api.Host
	reader := w.openFork("acme/core", "readme-fix", map[string]string{"check.sh": "echo \"uid $(id -u)\"\n" +
		"cat " + secret + " 2>/dev/null || echo 'could not read the key'\n" +
		probe("serve", addr) + probe("github", apiHost) +
		probe("metadata", "169.254.169.254:80")})
	// The bomb's sleep carries this binary's pid: another suite may run
	// the same attack at once, and its processes are not this run's.
	bombSleep := fmt.Sprintf("sleep 319.%07d", os.Getpid())
	bomb := w.openFork("acme/lib", "speedup", map[string]string{"check.sh": "for i in $(seq 3000); do " + bombSleep + " & done\nwait\n"})
	hog := w.openFork("acme/app", "cache", map[string]string{"check.sh": "x=a; for i in $(seq 29); do x=$x$x; done; echo \"held ${#x}\"\n"})
	w.approveForks(map[string]int{"acme/core": reader, "acme/lib": bomb, "acme/app": hog})
	own := w.openPR("acme/core", "own-change", "", map[string]string{"README": "core, changed\n"})
	w.send("pull_request", w.prPayload("opened", "acme/core", own))

	st := w.waitState("acme/core", w.head("acme/core", reader), "success")
	body := w.summaryOf("acme/core", reader) + w.logOf(st)
	for _, want := range []string{fmt.Sprintf("uid %d", ci.ThrowawayUID), "could not read the key", "serve: unreachable", "github: unreachable",
		"metadata: unreachable", "tests: no network (loopback only)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the reading fork's summary lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, key) || strings.Contains(body, "REACHED") {
		t.Errorf("the fork's step read the key or reached a local service:\n%s", body)
	}
	if !w.healthy() {
		t.Error("serve stopped answering")
	}
	if limitsHere {
		for _, c := range []struct {
			repo string
			n    int
			want string
		}{{"acme/lib", bomb, "too many processes"}, {"acme/app", hog, "out of memory"}} {
			st := w.waitState(c.repo, w.head(c.repo, c.n), "failure")
			if body := w.summaryOf(c.repo, c.n); !strings.Contains(body, c.want) || !strings.Contains(body, "limits.") {
				t.Errorf("%s's summary does not say it hit the limit (%q), nor where to raise it: %+v\n%s", c.repo, c.want, st, body)
			}
		}
		if left := processesOf(bombSleep); len(left) > 0 {
			t.Errorf("the fork bomb's processes outlived its run: %v", left)
		}
	} else {
		// No cgroup here: the forks that need limits are refused, saying why.
		for _, c := range []struct {
			repo string
			n    int
		}{{"acme/lib", bomb}, {"acme/app", hog}} {
			w.waitState(c.repo, w.head(c.repo, c.n), "error")
			if body := w.summaryOf(c.repo, c.n); !strings.Contains(body, "--allow-unlimited") {
				t.Errorf("%s: the refusal does not name the fix:\n%s", c.repo, body)
			}
		}
	}
	w.waitState("acme/core", w.head("acme/core", own), "success")
	if !w.healthy() {
		t.Error("serve stopped answering after the attacks")
	}
	if !strings.Contains(logs.String(), "throwaway uid") {
		t.Errorf("serve did not say at start whom steps run as:\n%s", tail(logs.String(), 2000))
	}
}

// processesOf lists the host's processes whose command line contains s.
func processesOf(s string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(strings.ReplaceAll(string(cmd), "\x00", " "), s) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestForkDiskFillFailsTheRunNotTheService gives the real serve a data
// dir on a 256 MiB file system, and approves a fork whose test writes
// 400 MB into its build root and holds it, then a maintainer's PR whose
// test fills the disk (trusted code builds on the data dir's disk) and
// holds it too. The fork's file never reaches the data dir's disk (an
// untrusted run's root is in memory, within its memory limit); the
// maintainer's run is stopped with an error saying the disk is full, and
// its file removed; deliveries sent all the while are stored and
// answered 202; and a second maintainer's PR is built and passes.
func TestForkDiskFillFailsTheRunNotTheService(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs for the data dir, and to run serve as the README deploys it")
	}
	if err := ci.SandboxAvailable(); err != nil {
		t.Fatalf("serve runs as root here and cannot make a sandbox: %v", err)
	}
	t.Parallel()
	dataDir := t.TempDir()
	if err := syscall.Mount("tmpfs", dataDir, "tmpfs", 0, "size=256m"); err != nil {
		t.Fatalf("mount a tmpfs as root: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dataDir, syscall.MNT_DETACH) })
	bin := buildBot(t)
	w := newWorld(t, worldOptions{noServe: true, ci: "limits = { memory = \"768MB\" }\n"})
	logs := &syncBuffer{}
	w.startServe(bin, freeAddr(t), dataDir, logs, "--workers", "2")
	free := func() int64 {
		var fs syscall.Statfs_t
		syscall.Statfs(dataDir, &fs)
		return int64(fs.Bavail) * fs.Bsize
	}
	before := free()

	fill := "dd if=/dev/zero of=fill bs=1M count=400 2>&1 | tail -1\necho filled; sleep 4\n"
	filler := w.openFork("acme/lib", "bigger-cache", map[string]string{"check.sh": fill})
	w.approveForks(map[string]int{"acme/lib": filler})
	var wg sync.WaitGroup
	stopSending := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopSending:
				return
			default:
			}
			body, _ := w.comment("acme/lib", filler, "bob", "NONE", "looks big")
			resp, err := phony.Send(t.Context(), w.url+"/webhook", "issue_comment", "", body, secret)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Errorf("delivery %d while the disk fills: %d", i, resp.StatusCode)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	lowest := before
	watchFree := func(until func() bool) {
		for !until() {
			lowest = min(lowest, free())
			time.Sleep(10 * time.Millisecond)
		}
	}
	head := w.head("acme/lib", filler)
	watchFree(func() bool {
		s := w.status("acme/lib", head).State
		return s == "success" || s == "failure" || s == "error"
	})
	if lowest < before-64<<20 {
		t.Errorf("the data dir's disk went from %d to %d MiB free while the fork filled its root", before>>20, lowest>>20)
	}

	trusted := w.openPR("acme/core", "big-fixture", "", map[string]string{"check.sh": "dd if=/dev/zero of=fill bs=1M count=400 2>&1 | tail -1\nsleep 60\necho held\n"})
	w.send("pull_request", w.prPayload("opened", "acme/core", trusted))
	st := w.waitState("acme/core", w.head("acme/core", trusted), "error")
	if body := w.summaryOf("acme/core", trusted); !strings.Contains(body, "disk is") || strings.Contains(body, "held") {
		t.Errorf("the filling run's summary does not say the disk is full: %+v\n%s", st, body)
	}
	own := w.openPR("acme/app", "own-change", "", map[string]string{"README": "app, changed\n"})
	w.send("pull_request", w.prPayload("opened", "acme/app", own))
	w.waitState("acme/app", w.head("acme/app", own), "success")
	close(stopSending)
	wg.Wait()
	if !w.healthy() {
		t.Error("serve stopped answering")
	}
	if f := free(); f < before-64<<20 {
		t.Errorf("%d MiB free after the runs, %d before: a file is still there", f>>20, before>>20)
	}
}
