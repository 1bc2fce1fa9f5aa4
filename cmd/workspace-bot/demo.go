package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/internal/demo"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/internal/phony"
	"github.com/provide-io/workspace-bot/internal/server"
)

// demoTimeout bounds each wait for a result; the whole demo takes seconds.
const demoTimeout = 60 * time.Second

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", "demo [--keep] [--verbose]\n\nThe whole loop on this machine, offline: sibling repositories on the built-in\nGitHub emulator, linked PRs, signed webhooks into the real service, the\nworkspace built and tested, and what a maintainer sees on each PR.", stderr)
	keep := fs.Bool("keep", false, "leave the service and emulator running at the end, so the run pages can be opened; Ctrl-C stops them")
	verbose := fs.BoolP("verbose", "v", false, "show the service's log on stderr")
	if code, ok := parseNoArgs(fs, args); !ok {
		return code
	}
	level := "warn"
	if *verbose {
		level = "info"
	}
	log, err := newLogger(stderr, "text", level)
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return exitUsage
	}
	d := &demoRun{out: stdout}
	if err := d.run(ctx, *keep, log); err != nil {
		fmt.Fprintf(stderr, "\ndemo failed: %s\n", err)
		return exitInfra
	}
	return exitOK
}

// demoRun is one demo: the emulator, the service, and what it printed.
type demoRun struct {
	out    io.Writer
	srv    *githubtest.Server
	svc    *server.Server
	sender *phony.Sender
	base   string // the service's root URL
}

func (d *demoRun) printf(format string, args ...any) { fmt.Fprintf(d.out, format, args...) }

func (d *demoRun) run(ctx context.Context, keep bool, log *logrus.Logger) error {
	start := time.Now()
	d.printf("workspace-bot demo: the whole loop on this machine, nothing to configure, no network\n\n")

	srv, err := githubtest.Start(githubtest.Options{})
	if err != nil {
		return err
	}
	defer srv.Close()
	d.srv = srv
	token := randomHex(20)
	srv.AddToken(token, githubtest.Token{Login: "workspace-bot"})
	if err := demo.Create(srv); err != nil {
		return err
	}
	d.printf("1. A workspace on the built-in GitHub emulator (%s)\n", srv.URL())
	d.printf("   %-24s wrknv.toml and the integration test, tests/integration.sh\n", demo.WorkspaceRepo)
	d.printf("   %-24s foundation: greet NAME prints \"Hello, NAME!\"\n", demo.GreetingRepo)
	d.printf("   %-24s framework, uses greeting: frames a line in *** ***\n", demo.BannerRepo)
	d.printf("   %-24s tools, uses both: the test expects \"*** Hello, world! ***\"\n", demo.CLIRepo)

	dataDir, err := os.MkdirTemp("", "workspace-bot-demo-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	d.base = "http://" + ln.Addr().String()
	secret := []byte(randomHex(16))
	svc, err := server.New(ctx, server.Options{
		GitHub: ghclient.Options{APIURL: srv.APIURL(), Token: token, UserAgent: userAgent()}, Config: demo.WorkspaceRepo + ":wrknv.toml",
		DataDir: dataDir, PublicURL: d.base, Secret: secret, Workers: 2,
		CoalesceWindow: 500 * time.Millisecond, Poll: 200 * time.Millisecond, Log: log,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer svc.Close()
	d.svc = svc
	hs := &http.Server{Handler: svc.Handler, ReadHeaderTimeout: 10 * time.Second}
	serveDone := make(chan error, 1)
	go func() { serveDone <- hs.Serve(ln) }()
	if err := svc.Bot.Start(ctx); err != nil {
		hs.Close()
		return err
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		<-serveDone
		svc.Bot.Stop(5 * time.Second)
	}
	defer stop()
	d.sender = &phony.Sender{URL: d.base + "/webhook", Secret: secret}
	d.printf("   The service (webhook handler, bot, SQLite store, build runner, GitHub client) listens on %s\n\n", d.base)

	if err := d.rename(ctx); err != nil {
		return err
	}
	if err := d.untested(ctx); err != nil {
		return err
	}
	if err := d.command(ctx); err != nil {
		return err
	}

	runs, err := svc.Store.RecentRuns(ctx, 20)
	if err != nil {
		return err
	}
	d.printf("Run pages (each with its full log at /log):\n")
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		d.printf("   %s/runs/%d  %-9s %s\n", d.base, r.ID, r.State, r.Key)
	}
	d.printf("\nDone in %s.\n", time.Since(start).Round(100*time.Millisecond))
	if !keep {
		d.printf("Run with --keep to leave the service running and open the run pages.\n")
		return nil
	}
	d.printf("The service and the emulator keep running (--keep); press Ctrl-C to stop them.\n")
	<-ctx.Done()
	return nil
}

// send posts one signed delivery built from a real fixture.
func (d *demoRun) send(ctx context.Context, event, what string, payload []byte, err error) error {
	if err != nil {
		return err
	}
	resp, err := d.sender.Send(ctx, event, "", payload)
	if err != nil {
		return err
	}
	resp.Body.Close()
	d.printf("   → webhook %-34s %s\n", event+" "+what, resp.Status)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("the service answered %s to a signed %s delivery", resp.Status, event)
	}
	return nil
}

// show prints what a maintainer sees on a PR: the status and, unless it
// is the same as one already shown, the summary comment.
func (d *demoRun) show(repo string, number int, shown map[string]bool) {
	d.showStatus(repo, number)
	c, ok := demo.SummaryComment(d.srv, repo, number)
	switch {
	case !ok:
		d.printf("     (no summary comment)\n")
	case shown[c.Body]:
		d.printf("     summary comment: the same as above\n")
	default:
		shown[c.Body] = true
		d.printf("     summary comment by @%s:\n", c.User)
		demo.PrintComment(d.out, "       ", c.Body)
	}
}

// showStatus prints the PR's status line and where it links.
func (d *demoRun) showStatus(repo string, number int) {
	st, _ := demo.LastStatus(d.srv, repo, number)
	d.printf("\n   %s#%d\n", repo, number)
	d.printf("     %s %s %s — %s\n", demo.Icon(st.State), st.Context, st.State, st.Description)
	d.printf("       details: %s\n", st.TargetURL)
}

func (d *demoRun) rename(ctx context.Context) error {
	d.printf("2. A change across two repositories: greeting renames greet to say_hello, hello-cli follows.\n")
	d.printf("   Either PR alone breaks the integration test; the pair is tested as one changeset.\n")
	rn, err := demo.OpenRename(d.srv)
	if err != nil {
		return err
	}
	d.printf("   opened %s#%d  (branch %s)\n", demo.GreetingRepo, rn.Greeting, demo.RenameBranch)
	d.printf("   opened %s#%d  (branch %s, body: \"Depends-On: %s#%d\")\n", demo.CLIRepo, rn.CLI, demo.RenameBranch, demo.GreetingRepo, rn.Greeting)
	t0 := time.Now()
	payload, err := demo.PullRequestEvent(d.srv, "opened", demo.GreetingRepo, rn.Greeting)
	if err := d.send(ctx, "pull_request", "opened greeting#1", payload, err); err != nil {
		return err
	}
	payload, err = demo.PullRequestEvent(d.srv, "opened", demo.CLIRepo, rn.CLI)
	if err := d.send(ctx, "pull_request", "opened hello-cli#1", payload, err); err != nil {
		return err
	}
	for _, pr := range []struct {
		repo string
		n    int
	}{{demo.GreetingRepo, rn.Greeting}, {demo.CLIRepo, rn.CLI}} {
		if _, err := demo.WaitFinal(ctx, d.srv, pr.repo, pr.n, 0, demoTimeout); err != nil {
			return err
		}
	}
	d.printf("   both events resolved to one changeset, coalesced into one run, built and tested in %s\n", time.Since(t0).Round(100*time.Millisecond))
	shown := map[string]bool{}
	d.show(demo.GreetingRepo, rn.Greeting, shown)
	d.show(demo.CLIRepo, rn.CLI, shown)
	d.printf("\n")
	return nil
}

func (d *demoRun) untested(ctx context.Context) error {
	d.printf("3. A change nobody tested with the others: banner frames lines in === instead of ***.\n")
	n, err := demo.OpenBannerBreak(d.srv)
	if err != nil {
		return err
	}
	d.printf("   opened %s#%d  (branch %s)\n", demo.BannerRepo, n, demo.BreakBranch)
	payload, err := demo.PullRequestEvent(d.srv, "opened", demo.BannerRepo, n)
	if err := d.send(ctx, "pull_request", "opened banner#1", payload, err); err != nil {
		return err
	}
	if _, err := demo.WaitFinal(ctx, d.srv, demo.BannerRepo, n, 0, demoTimeout); err != nil {
		return err
	}
	d.show(demo.BannerRepo, n, map[string]bool{})
	d.printf("\n")
	return nil
}

func (d *demoRun) command(ctx context.Context) error {
	d.printf("4. A maintainer asks for a re-run with a comment on %s#1.\n", demo.GreetingRepo)
	_, before := demo.LastStatus(d.srv, demo.GreetingRepo, 1)
	_, cliBefore := demo.LastStatus(d.srv, demo.CLIRepo, 1)
	c, err := d.srv.AddComment(demo.GreetingRepo, 1, "alice", "MEMBER", "Rebased my local checkout, all good here.\n/workspace test\n")
	if err != nil {
		return err
	}
	d.printf("   @alice (MEMBER) commented: \"/workspace test\"\n")
	payload, err := demo.IssueCommentEvent(d.srv, demo.GreetingRepo, 1, c, true)
	if err := d.send(ctx, "issue_comment", "created", payload, err); err != nil {
		return err
	}
	if _, err := demo.WaitFinal(ctx, d.srv, demo.GreetingRepo, 1, before, demoTimeout); err != nil {
		return err
	}
	if _, err := demo.WaitFinal(ctx, d.srv, demo.CLIRepo, 1, cliBefore, demoTimeout); err != nil {
		return err
	}
	d.printf("   reactions on the comment: %v (the command was accepted)\n", d.srv.Reactions(demo.GreetingRepo, c.ID))
	d.printf("   the changeset ran again: a command runs even when the heads were already tested\n")
	for _, repo := range []string{demo.GreetingRepo, demo.CLIRepo} {
		d.showStatus(repo, 1)
		if c, ok := demo.SummaryComment(d.srv, repo, 1); ok {
			d.printf("     summary comment edited in place (%d edit(s)), never posted twice\n", c.Edits)
		}
	}
	d.printf("\n")
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
