package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/actionstest"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/internal/phony"
	"github.com/provide-io/workspace-bot/internal/server"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/internal/webhooktest"
)

const (
	secret   = "e2e-webhook-secret"
	botToken = "e2e-bot-token"
	owner    = "acme"
	ctxName  = "workspace/integration"
)

var fixtures = webhooktest.Dir + "/"

var siblings = []string{"core", "lib", "app"}

// world is the emulator with three sibling repositories and, unless
// serve is false, the service wired as `workspace-bot serve` wires it.
type world struct {
	t      testing.TB
	gh     *githubtest.Server
	cfgDir string
	cfg    string // path of wrknv.toml
	url    string // the service's base URL
	st     *store.Store
	bot    *bot.Bot
	// serveAs, when set, runs startServe's process as this user, with
	// serveEnv added to its environment.
	serveAs  *syscall.Credential
	serveEnv []string
	// runner runs the dispatched jobs of a world with actions.
	runner *actionstest.Runner
	// dataDir and opts are the service's, for a replica of it.
	dataDir string
	opts    server.Options
	// logs are the last serve process's, for a failing wait to show.
	logs *syncBuffer
}

type worldOptions struct {
	coalesce time.Duration
	noServe  bool
	private  bool // private repositories: cloning needs the bot's token
	// siblings are the workspace's repositories under acme; all of
	// siblings when nil.
	siblings []string
	// ci are more lines of [workspace.ci]; tables, more tables of the
	// workspace (such as [workspace.release]).
	ci, tables string
	// siblingTests gives each sibling a test of its own, which prints
	// "own tests of NAME".
	siblingTests bool
	// actions builds with serve --executor actions: runs are dispatched
	// to the emulator's acme/ws workflow, and a test runner (w.runner)
	// runs the real binary's run-job, doing modes in turn.
	actions *actionsWorld
	// logTo, when set, receives the service's log at debug level.
	logTo io.Writer
	// workers is serve --workers (2 when 0).
	workers int
}

func newWorld(t testing.TB, o worldOptions) *world {
	t.Helper()
	srv, err := githubtest.Start(githubtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.AddToken(botToken, githubtest.Token{Login: "workspace-bot"})
	w := &world{t: t, gh: srv}
	sibs := o.siblings
	if sibs == nil {
		sibs = siblings
	}
	for _, s := range sibs {
		repo := owner + "/" + s
		if err := srv.CreateRepo(repo, githubtest.RepoOptions{Private: o.private}); err != nil {
			t.Fatal(err)
		}
		w.push(repo, "main", map[string]string{"check.sh": "echo " + s + " ok\n", "README": s + "\n"})
		// alice, a member who opens the PRs, can push.
		srv.SetPermission(repo, "alice", "write")
	}
	w.cfgDir = filepath.Join(t.TempDir(), "ws")
	if err := os.MkdirAll(w.cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "[workspace]\nname = \"ws\"\n\n[workspace.ci]\ntest = [\"sh check-all.sh\"]\ntimeout = \"1m\"\n%s\n[workspace.bot]\nlink_by_branch = true\n%s", o.ci, o.tables)
	deps := map[string]string{"core": "", "lib": `"core"`, "app": `"lib"`}
	layers := map[string]string{"core": "foundation", "lib": "framework", "app": "tools"}
	for _, s := range sibs {
		fmt.Fprintf(&cfg, "\n[[siblings]]\nname = %q\npath = \"../%s\"\nrepo = %q\nlayer = %q\ndepends_on = [%s]\n",
			s, s, srv.GitURL(owner+"/"+s), layers[s], deps[s])
		if o.siblingTests {
			fmt.Fprintf(&cfg, "test = [\"echo own tests of %s\"]\n", s)
		}
	}
	w.cfg = filepath.Join(w.cfgDir, "wrknv.toml")
	write(t, w.cfg, cfg.String())
	write(t, filepath.Join(w.cfgDir, "check-all.sh"), "set -e\nfor s in "+strings.Join(sibs, " ")+"; do sh ../$s/check.sh; done\n")
	if !o.noServe {
		w.serve(o)
	}
	return w
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// serve wires the service in this process as `workspace-bot serve` wires
// it (internal/server), on a temp data dir and a loopback listener.
func (w *world) serve(o worldOptions) {
	t := w.t
	dataDir := t.TempDir()
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	if testing.Verbose() && os.Getenv("E2E_LOG") != "" {
		log.SetLevel(logrus.DebugLevel)
	}
	if o.logTo != nil {
		log.SetOutput(o.logTo)
		log.SetLevel(logrus.DebugLevel)
	}
	if o.coalesce == 0 {
		o.coalesce = 300 * time.Millisecond
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	so := server.Options{
		BotOptions: server.BotOptions{
			GitHub: ghclient.Options{APIURL: w.gh.APIURL(), Token: botToken, RetryBase: 10 * time.Millisecond, MaxWait: 2 * time.Second},
			Config: w.cfg, DataDir: dataDir, PublicURL: url, Log: log,
			// As serve confines steps. Where no cgroup can be made, forks
			// build without limits (the refusal is the confinement tests').
			Confine: true, AllowUnlimited: ci.LimitsAvailable() != nil,
		},
		Secret: []byte(secret), Workers: max(o.workers, 2), CoalesceWindow: o.coalesce, Poll: 50 * time.Millisecond,
	}
	if o.actions != nil {
		w.dispatchTo(o.actions, url, &so)
	}
	srv, err := server.New(context.Background(), so)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, 2*time.Second) }()
	w.url, w.st, w.bot, w.dataDir, w.opts = url, srv.Store, srv.Bot, dataDir, so
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Error(err)
		}
		srv.Close()
	})
}

func (w *world) push(repo, branch string, files map[string]string) string {
	w.t.Helper()
	sha, err := w.gh.Commit(repo, branch, files, "change "+branch)
	if err != nil {
		w.t.Fatal(err)
	}
	return sha
}

// openPR pushes files to branch and opens a PR from it, by alice (MEMBER).
func (w *world) openPR(repo, branch, body string, files map[string]string) int {
	w.t.Helper()
	w.push(repo, branch, files)
	n, err := w.gh.OpenPR(githubtest.NewPR{Repo: repo, Head: branch, Title: "change " + branch, Body: body, User: "alice", AuthorAssociation: "MEMBER"})
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *world) head(repo string, n int) string { return w.gh.PR(repo, n).HeadSHA }

// prPayload is the real pull_request fixture for action, rewritten to
// point at the emulator's PR.
func (w *world) prPayload(action, repo string, n int) []byte {
	w.t.Helper()
	file := action
	if action == "edited" {
		file = "opened"
	}
	d, err := phony.Load(fixtures + "pull_request/" + file + ".payload.json")
	if err != nil {
		w.t.Fatal(err)
	}
	pr := w.gh.PR(repo, n)
	headRepo := pr.HeadRepo
	if headRepo == "" {
		headRepo = repo
	}
	state := pr.State
	for path, v := range map[string]any{
		"action": action, "number": n, "repository.full_name": repo, "repository.name": strings.SplitN(repo, "/", 2)[1],
		"pull_request.number": n, "pull_request.state": state, "pull_request.body": pr.Body, "pull_request.merged": pr.Merged,
		"pull_request.head.sha": pr.HeadSHA, "pull_request.head.ref": pr.HeadRef,
		"pull_request.head.repo.full_name": headRepo, "pull_request.head.repo.fork": headRepo != repo,
		"pull_request.head.repo.clone_url": w.gh.GitURL(headRepo),
		"pull_request.base.ref":            pr.BaseRef, "pull_request.base.repo.full_name": repo,
		"pull_request.user.login": pr.User, "pull_request.author_association": pr.AuthorAssociation,
	} {
		if err := phony.Set(d, path, v); err != nil {
			w.t.Fatal(err)
		}
	}
	if action == "edited" {
		if err := phony.Set(d, "changes", map[string]any{"body": map[string]any{"from": "before"}}); err != nil {
			w.t.Fatal(err)
		}
	}
	return phony.MustMarshal(d)
}

// comment adds a comment on the emulator and returns the real
// issue_comment fixture rewritten to carry it, on a PR.
func (w *world) comment(repo string, n int, user, assoc, body string) ([]byte, int64) {
	w.t.Helper()
	c, err := w.gh.AddComment(repo, n, user, assoc, body)
	if err != nil {
		w.t.Fatal(err)
	}
	d, err := phony.Load(fixtures + "issue_comment/created.payload.json")
	if err != nil {
		w.t.Fatal(err)
	}
	for path, v := range map[string]any{
		"repository.full_name": repo, "issue.number": n, "issue.state": "open",
		"issue.pull_request": map[string]any{"url": fmt.Sprintf("%srepos/%s/pulls/%d", w.gh.APIURL(), repo, n)},
		"comment.id":         c.ID, "comment.body": body, "comment.user.login": user, "comment.author_association": assoc,
		"comment.created_at": c.CreatedAt.UTC().Format(time.RFC3339),
	} {
		if err := phony.Set(d, path, v); err != nil {
			w.t.Fatal(err)
		}
	}
	return phony.MustMarshal(d), c.ID
}

// send signs and posts a delivery, expecting 202.
func (w *world) send(event string, body []byte) {
	w.t.Helper()
	resp, err := phony.Send(context.Background(), w.url+"/webhook", event, "", body, secret)
	if err != nil {
		w.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		w.t.Fatalf("POST %s delivery: %d, want 202", event, resp.StatusCode)
	}
}

// status is the newest status of our context on repo@sha.
func (w *world) status(repo, sha string) githubtest.Status {
	var last githubtest.Status
	for _, s := range w.gh.Statuses(repo, sha) {
		if s.Context == ctxName {
			last = s
		}
	}
	return last
}

// waitFor polls cond until it holds, for as long as patience allows: on
// a loaded machine an event comes late, not never.
func (w *world) waitFor(what string, cond func() bool) {
	w.t.Helper()
	w.waitSaying(what, cond, func() string { return "" })
}

// waitSaying is waitFor whose failure adds what seen says of the last
// look, so a failure names the state it was stuck in.
func (w *world) waitSaying(what string, cond func() bool, seen func() string) {
	w.t.Helper()
	deadline := patience(w.t)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatalf("gave up waiting for %s%s", what, seen())
}

// patience is when a wait gives up: in three minutes, far beyond any
// event's time on a loaded machine (a run of these tests takes seconds),
// and shortly before the test binary's own deadline if that is sooner,
// so the failure names what it waited for.
func patience(t testing.TB) time.Time {
	end := time.Now().Add(3 * time.Minute)
	dl, hasDeadline := t.(interface{ Deadline() (time.Time, bool) })
	if !hasDeadline {
		return end
	}
	if d, ok := dl.Deadline(); ok && d.Add(-30*time.Second).Before(end) {
		return d.Add(-30 * time.Second)
	}
	return end
}

func (w *world) waitState(repo, sha, state string) githubtest.Status {
	w.t.Helper()
	var last githubtest.Status
	w.waitSaying(fmt.Sprintf("%s@%.7s to be %s", repo, sha, state), func() bool {
		last = w.status(repo, sha)
		return last.State == state
	}, func() string {
		if w.logs != nil {
			return fmt.Sprintf(" (last seen: %+v)\nserve's log ends:\n%s", last, tail(w.logs.String(), 4000))
		}
		return fmt.Sprintf(" (last seen: %+v)", last)
	})
	return last
}

// idle waits until the service has nothing left to do (store.Busy): a
// test that then finds something did not happen knows it will not.
func (w *world) idle() {
	w.t.Helper()
	w.waitFor("the service to go idle", func() bool {
		if w.st == nil { // serve runs as a process of its own
			return w.metric("workspace_bot_unfinished_work") == 0
		}
		n, err := w.st.Busy(context.Background())
		return err == nil && n == 0
	})
}

// logOf is the whole log of the run a status links to.
func (w *world) logOf(st githubtest.Status) string {
	w.t.Helper()
	resp, err := http.Get(st.TargetURL + "/log")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return string(body)
}

// summaries are the bot's summary comments on a PR.
func (w *world) summaries(repo string, n int) []githubtest.Comment {
	var out []githubtest.Comment
	for _, c := range w.gh.Comments(repo, n) {
		if strings.HasPrefix(c.Body, bot.SummaryMarker) {
			out = append(out, c)
		}
	}
	return out
}

// replies are the bot's other comments on a PR.
func (w *world) replies(repo string, n int) []string {
	var out []string
	for _, c := range w.gh.Comments(repo, n) {
		if c.User == "workspace-bot" && !strings.HasPrefix(c.Body, bot.SummaryMarker) {
			out = append(out, c.Body)
		}
	}
	return out
}

// runs lists the store's runs, oldest first.
func (w *world) runs() []store.Run {
	rs, err := w.st.RecentRuns(context.Background(), 100)
	if err != nil {
		w.t.Fatal(err)
	}
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return rs
}
