package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/delivery"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/internal/server"
	"github.com/provide-io/workspace-bot/internal/store"
)

// waitTimeout bounds each wait for a result; the whole demo takes seconds.
const waitTimeout = 60 * time.Second

// Options configure Run.
type Options struct {
	Out io.Writer
	Log *logrus.Logger
	// Keep leaves the service and the emulator running until ctx ends.
	Keep      bool
	UserAgent string
}

// session is one demo: the emulator, the service, and what it printed.
type session struct {
	out    io.Writer
	srv    *githubtest.Server
	svc    *server.Server
	base   string // the service's root URL
	secret []byte
	client *http.Client
}

func (d *session) printf(format string, args ...any) { fmt.Fprintf(d.out, format, args...) }

// Run plays the demo. Every sentence it prints after the set-up says what
// happened: statuses and comments as the emulator holds them, runs as the
// service's store holds them.
func Run(ctx context.Context, o Options) error {
	start := time.Now()
	d := &session{out: o.Out, secret: []byte(randomHex(16)), client: &http.Client{Timeout: 30 * time.Second}}
	d.printf("workspace-bot demo: the whole loop on this machine, nothing to configure, no network\n\n")

	srv, err := githubtest.Start(githubtest.Options{})
	if err != nil {
		return err
	}
	defer srv.Close()
	d.srv = srv
	token := randomHex(20)
	srv.AddToken(token, githubtest.Token{Login: BotLogin})
	if err := Create(srv); err != nil {
		return err
	}
	d.printf("1. A workspace on the built-in GitHub emulator (%s)\n", srv.URL())
	for _, r := range Repositories {
		d.printf("   %-24s %s\n", r.Repo, r.About)
	}

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
	svc, err := server.New(ctx, server.Options{
		BotOptions: server.BotOptions{
			GitHub: ghclient.Options{APIURL: srv.APIURL(), Token: token, UserAgent: o.UserAgent},
			Config: WorkspaceRepo + ":wrknv.toml", DataDir: dataDir, PublicURL: d.base, Log: o.Log,
			// As serve confines steps; limits where this machine has
			// cgroups, and the fork still built where it has none.
			Confine: true, AllowUnlimited: true,
		},
		Secret: d.secret, Workers: 2, CoalesceWindow: 500 * time.Millisecond, Poll: 200 * time.Millisecond,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer svc.Close()
	d.svc = svc
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- svc.Serve(sctx, ln, 5*time.Second) }()
	defer func() { stop(); <-served }()
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
	if err := d.land(ctx); err != nil {
		return err
	}

	runs, err := svc.Store.RecentRuns(ctx, 20)
	if err != nil {
		return err
	}
	d.printf("Run pages (each with its full log at /log):\n")
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		d.printf("   %s/runs/%d  %-9s %s\n", d.base, r.ID, r.Label(), r.Key)
	}
	d.printf("\nDone in %s.\n", time.Since(start).Round(100*time.Millisecond))
	if !o.Keep {
		d.printf("Run with --keep to leave the service running and open the run pages.\n")
		return nil
	}
	d.printf("The service and the emulator keep running (--keep); press Ctrl-C to stop them.\n")
	<-ctx.Done()
	return nil
}

// send posts one signed delivery, as GitHub would.
func (d *session) send(ctx context.Context, event, what string, payload []byte, err error) error {
	if err != nil {
		return err
	}
	req, err := delivery.NewRequest(ctx, d.base+"/webhook", event, "", payload, d.secret)
	if err != nil {
		return err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("send the %s delivery: %w", event, err)
	}
	resp.Body.Close()
	d.printf("   → webhook %-34s %s\n", event+" "+what, resp.Status)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("the service answered %s to a signed %s delivery", resp.Status, event)
	}
	return nil
}

// runsSince are the runs the service stored after the run numbered after,
// oldest first.
func (d *session) runsSince(ctx context.Context, after int64) ([]store.Run, error) {
	recent, err := d.svc.Store.RecentRuns(ctx, 50)
	if err != nil {
		return nil, err
	}
	var out []store.Run
	for i := len(recent) - 1; i >= 0; i-- {
		if recent[i].ID > after {
			out = append(out, recent[i])
		}
	}
	return out, nil
}

func (d *session) lastRunID(ctx context.Context) int64 {
	recent, err := d.svc.Store.RecentRuns(ctx, 1)
	if err != nil || len(recent) == 0 {
		return 0
	}
	return recent[0].ID
}

// describeRuns says what the service did with a step's events, from the
// runs it stored: how many changesets, how many runs, and how each ended.
func describeRuns(events int, runs []store.Run) string {
	keys := map[string]bool{}
	for _, r := range runs {
		keys[r.Key] = true
	}
	var b strings.Builder
	switch {
	case len(runs) == 0:
		return fmt.Sprintf("the %d events started no run", events)
	case len(keys) == 1:
		fmt.Fprintf(&b, "the %d events resolved to one changeset", events)
	default:
		fmt.Fprintf(&b, "the %d events resolved to %d changesets", events, len(keys))
	}
	if len(runs) == 1 {
		r := runs[0]
		fmt.Fprintf(&b, " and made one run (run %d), which ended %s", r.ID, r.Label())
		return b.String()
	}
	fmt.Fprintf(&b, " and %d runs:", len(runs))
	for i, r := range runs {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(&b, "%s run %d %s", sep, r.ID, r.Label())
		if r.Superseded != 0 {
			fmt.Fprintf(&b, " (superseded by run %d)", r.Superseded)
		}
	}
	return b.String()
}

// show prints what a maintainer sees on a PR: the status and, unless it
// is the same as one already shown, the summary comment.
func (d *session) show(repo string, number int, shown map[string]bool) {
	d.showStatus(repo, number)
	c, ok := SummaryComment(d.srv, repo, number)
	switch {
	case !ok:
		d.printf("     (no summary comment)\n")
	case shown[c.Body]:
		d.printf("     summary comment: the same as above\n")
	default:
		shown[c.Body] = true
		d.printf("     summary comment by @%s:\n", c.User)
		PrintComment(d.out, "       ", c.Body)
	}
}

// showStatus prints the PR's status line and where it links.
func (d *session) showStatus(repo string, number int) {
	st, _ := LastStatus(d.srv, repo, number)
	d.printf("\n   %s#%d\n", repo, number)
	d.printf("     %s %s %s — %s\n", Icon(st.State), st.Context, st.State, st.Description)
	d.printf("       details: %s\n", st.TargetURL)
}

func (d *session) rename(ctx context.Context) error {
	d.printf("2. A change across two repositories: greeting renames greet to say_hello, hello-cli follows.\n")
	rn, err := OpenRename(d.srv)
	if err != nil {
		return err
	}
	d.printf("   opened %s#%d  (branch %s)\n", GreetingRepo, rn.Greeting, RenameBranch)
	d.printf("   opened %s#%d  (branch %s, body: %s)\n", CLIRepo, rn.CLI, RenameBranch, dependsOn(d.srv.PR(CLIRepo, rn.CLI).Body))
	before := d.lastRunID(ctx)
	t0 := time.Now()
	payload, err := PullRequestEvent(d.srv, "opened", GreetingRepo, rn.Greeting)
	if err := d.send(ctx, "pull_request", fmt.Sprintf("opened greeting#%d", rn.Greeting), payload, err); err != nil {
		return err
	}
	payload, err = PullRequestEvent(d.srv, "opened", CLIRepo, rn.CLI)
	if err := d.send(ctx, "pull_request", fmt.Sprintf("opened hello-cli#%d", rn.CLI), payload, err); err != nil {
		return err
	}
	for _, pr := range []struct {
		repo string
		n    int
	}{{GreetingRepo, rn.Greeting}, {CLIRepo, rn.CLI}} {
		if _, err := WaitFinal(ctx, d.srv, pr.repo, pr.n, 0, waitTimeout); err != nil {
			return err
		}
	}
	took := time.Since(t0).Round(100 * time.Millisecond)
	runs, err := d.runsSince(ctx, before)
	if err != nil {
		return err
	}
	d.printf("   %s; both PRs had their result %s after the first event\n", describeRuns(2, runs), took)
	shown := map[string]bool{}
	d.show(GreetingRepo, rn.Greeting, shown)
	d.show(CLIRepo, rn.CLI, shown)
	d.printf("\n")
	return nil
}

func (d *session) untested(ctx context.Context) error {
	d.printf("3. A change nobody tested with the others: banner frames lines in === instead of ***.\n")
	n, err := OpenBannerBreak(d.srv)
	if err != nil {
		return err
	}
	d.printf("   opened %s#%d  (branch %s)\n", BannerRepo, n, BreakBranch)
	payload, err := PullRequestEvent(d.srv, "opened", BannerRepo, n)
	if err := d.send(ctx, "pull_request", fmt.Sprintf("opened banner#%d", n), payload, err); err != nil {
		return err
	}
	if _, err := WaitFinal(ctx, d.srv, BannerRepo, n, 0, waitTimeout); err != nil {
		return err
	}
	d.show(BannerRepo, n, map[string]bool{})
	d.printf("\n")
	return nil
}

func (d *session) command(ctx context.Context) error {
	d.printf("4. A maintainer asks for a re-run with a comment on %s#1.\n", GreetingRepo)
	_, before := LastStatus(d.srv, GreetingRepo, 1)
	_, cliBefore := LastStatus(d.srv, CLIRepo, 1)
	lastRun := d.lastRunID(ctx)
	tested, _ := d.svc.Store.LatestRun(ctx, GreetingRepo+"#1,"+CLIRepo+"#1")
	c, err := d.srv.AddComment(GreetingRepo, 1, "alice", "MEMBER", "Rebased my local checkout, all good here.\n/workspace test\n")
	if err != nil {
		return err
	}
	d.printf("   @%s (%s) commented: %q\n", c.User, c.AuthorAssociation, lastLine(c.Body))
	payload, err := IssueCommentEvent(d.srv, GreetingRepo, 1, c, true)
	if err := d.send(ctx, "issue_comment", "created", payload, err); err != nil {
		return err
	}
	if _, err := WaitFinal(ctx, d.srv, GreetingRepo, 1, before, waitTimeout); err != nil {
		return err
	}
	if _, err := WaitFinal(ctx, d.srv, CLIRepo, 1, cliBefore, waitTimeout); err != nil {
		return err
	}
	reactions := d.srv.Reactions(GreetingRepo, c.ID)
	d.printf("   reactions on the comment: %v (%s)\n", reactions, acknowledged(reactions))
	runs, err := d.runsSince(ctx, lastRun)
	if err != nil {
		return err
	}
	for _, r := range runs {
		switch {
		case tested != nil && r.Heads == tested.Heads:
			d.printf("   run %d built the changeset again, %s, at the same heads run %d had tested: a command runs even when the heads were tested already\n", r.ID, r.Label(), tested.ID)
		default:
			d.printf("   run %d built %s, %s\n", r.ID, r.Key, r.Label())
		}
	}
	for _, repo := range []string{GreetingRepo, CLIRepo} {
		d.showStatus(repo, 1)
		d.printf("     %s\n", describeSummaries(d.srv, repo, 1))
	}
	d.printf("\n")
	return nil
}

// land lands the tested rename as one: both PRs merge, in build order, and
// each is told what landed.
func (d *session) land(ctx context.Context) error {
	d.printf("5. The rename lands as one: @alice comments %q on %s#1.\n", "/workspace merge", CLIRepo)
	c, err := d.srv.AddComment(CLIRepo, 1, "alice", "MEMBER", "/workspace merge")
	if err != nil {
		return err
	}
	payload, err := IssueCommentEvent(d.srv, CLIRepo, 1, c, true)
	if err := d.send(ctx, "issue_comment", "created", payload, err); err != nil {
		return err
	}
	var report string
	deadline := time.Now().Add(waitTimeout)
	for report == "" {
		for _, b := range BotReplies(d.srv, CLIRepo, 1) {
			if strings.Contains(b, "landed") || strings.Contains(b, "stopped halfway") || strings.Contains(b, "nothing was merged") {
				report = b
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: no answer to /workspace merge after %s", waitTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	for _, pr := range []struct {
		repo string
		n    int
	}{{GreetingRepo, 1}, {CLIRepo, 1}} {
		p := d.srv.PR(pr.repo, pr.n)
		if p.Merged {
			d.printf("   %s#%d merged as %s onto main\n", pr.repo, pr.n, p.MergeCommitSHA)
		} else {
			d.printf("   %s#%d is not merged (%s)\n", pr.repo, pr.n, p.State)
		}
	}
	where := CLIRepo + "#1"
	for _, b := range BotReplies(d.srv, GreetingRepo, 1) {
		if firstLine(b) == firstLine(report) {
			where = "both"
		}
	}
	d.printf("   the bot's comment on %s: %s\n\n", where, firstLine(report))
	return nil
}

// acknowledged says what the bot's reaction to a command means.
func acknowledged(reactions []string) string {
	for _, r := range reactions {
		switch r {
		case "+1":
			return "the command was accepted"
		case "confused":
			return "the command was not understood"
		}
	}
	return "no acknowledgement"
}

// describeSummaries says how many summary comments the PR has and how
// often the bot edited them.
func describeSummaries(srv *githubtest.Server, repo string, number int) string {
	var edits []int
	for _, c := range srv.Comments(repo, number) {
		if strings.HasPrefix(c.Body, bot.SummaryMarker) {
			edits = append(edits, c.Edits)
		}
	}
	switch len(edits) {
	case 0:
		return "no summary comment"
	case 1:
		return fmt.Sprintf("summary comment edited in place (%d edit(s)); one comment on the PR", edits[0])
	}
	sort.Ints(edits)
	return fmt.Sprintf("%d summary comments on the PR (edits: %v)", len(edits), edits)
}

// dependsOn is how a PR body links other PRs, as the bot reads it.
func dependsOn(body string) string {
	var refs []string
	for _, r := range changeset.ParseDependsOn(body, Owner) {
		refs = append(refs, r.String())
	}
	if len(refs) == 0 {
		return "no Depends-On line"
	}
	return fmt.Sprintf("%q", "Depends-On: "+strings.Join(refs, ", "))
}

// firstLine is a reply's first line as plain text.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.ReplaceAll(line, "**", "")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
