package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/exitcode"
	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/server"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/internal/text"
	"github.com/provide-io/workspace-bot/lifecycle"
	"github.com/provide-io/workspace-bot/workspace"
)

// Options configure one run of the Action.
type Options struct {
	Env    Env
	Stdout io.Writer
	Stderr io.Writer
	// LogLevel is the level of the log on Stderr (WORKSPACE_BOT_LOG_LEVEL).
	LogLevel  string
	UserAgent string
	// Progress, when set, prints each fetch, checkout and step as it ends.
	Progress func(ci.Event)
	// Secrets are credentials besides the token (the runner's own
	// tokens), censored out of build output and logs.
	Secrets []string
}

// run is one invocation of `workspace-bot action`.
type run struct {
	Options
	wf  *Workflow
	log *logrus.Logger
}

// secrets are every credential the step holds.
func (o Options) secrets() []string { return append([]string{o.Env.Token}, o.Secrets...) }

// errNoToken is a config on GitHub with no token to read it.
var errNoToken = errors.New("no GitHub token: set WORKSPACE_BOT_GITHUB_TOKEN (the action's token input) or GITHUB_TOKEN")

// errCancelled is the cause a build is cancelled with when the job is.
var errCancelled = &bot.Cancel{Why: "the workflow run was cancelled"}

// Run is the Action: it tests the changeset of a pull_request or
// issue_comment event through the bot's core, the same trust rules,
// commands and reports the service has; builds the workspace at its
// branch tips for other events; or checks the config. It says the
// outcome with log groups, annotations, the step summary and outputs,
// and returns the exit code.
func Run(ctx context.Context, o Options) int {
	o.Env.Command = normalCommand(o.Env.Command)
	a := &run{Options: o, wf: &Workflow{Out: o.Stdout}}
	a.wf.Mask(o.Env.Token)
	if err := o.Env.Validate(); err != nil {
		return a.fail(exitcode.Usage, "workspace-bot", err)
	}
	lv, err := logrus.ParseLevel(o.LogLevel)
	if err != nil {
		return a.fail(exitcode.Usage, "workspace-bot", fmt.Errorf("WORKSPACE_BOT_LOG_LEVEL %q: use debug, info, warn or error", o.LogLevel))
	}
	a.log = logrus.New()
	a.log.SetOutput(o.Stderr)
	a.log.SetLevel(lv)
	// The runner masks the token too, but a log line must not depend on it.
	a.log.SetFormatter(&logging.Censor{Inner: &logrus.TextFormatter{FullTimestamp: true}, Secrets: o.secrets()})
	if o.Env.Command == CommandValidate {
		return a.validate(ctx)
	}
	payload, err := os.ReadFile(o.Env.EventPath)
	if err != nil {
		return a.fail(exitcode.Usage, "workspace-bot", fmt.Errorf("read the event payload GITHUB_EVENT_PATH: %w", err))
	}
	switch o.Env.EventName {
	case "pull_request", "issue_comment":
		return a.changeset(ctx, o.Env.EventName, payload)
	case "pull_request_target":
		// Running a PR's code with secrets at hand is what
		// pull_request_target must never be used for: a workflow wired to
		// it by mistake fails loudly rather than passing with nothing run.
		return a.fail(exitcode.Usage, "workspace-bot", errors.New("refusing pull_request_target: it runs with the base repository's secrets, and this action builds the PR's code; trigger the workflow on pull_request instead"))
	}
	return a.tips(ctx)
}

// Refuse ends a step whose settings are wrong before it starts (a
// variable its flag refuses): an error annotation, the result output
// error, exit 2.
func Refuse(o Options, err error) int {
	a := &run{Options: o, wf: &Workflow{Out: o.Stdout}}
	a.wf.Mask(o.Env.Token)
	return a.fail(exitcode.Usage, "workspace-bot", err)
}

// fail reports err as an annotation and on stderr, and returns code.
func (a *run) fail(code int, title string, err error) int {
	a.wf.Error(title, err.Error())
	fmt.Fprintf(a.Stderr, "error: %s\n", err)
	if err := Outputs(a.Env, (*changeset.Changeset)(nil).Output(), ci.Error); err != nil {
		fmt.Fprintf(a.Stderr, "error: %s\n", err)
	}
	return code
}

// skip ends a run that had nothing to build.
func (a *run) skip(why string) int {
	fmt.Fprintf(a.Stdout, "nothing to build: %s\n", why)
	if err := Outputs(a.Env, (*changeset.Changeset)(nil).Output(), Skipped); err != nil {
		return a.fail(exitcode.Infra, "workspace-bot", err)
	}
	if err := AppendSummary(a.Env.SummaryFile, "### workspace-bot: nothing to build\n\n"+why+"\n"); err != nil {
		fmt.Fprintf(a.Stderr, "error: %s\n", err)
	}
	return exitcode.OK
}

// factory builds the GitHub client factory for the action's token.
func (a *run) factory() (*ghclient.Factory, error) {
	return ghclient.New(ghclient.Options{APIURL: a.Env.APIURL, Token: a.Env.Token, UserAgent: a.UserAgent})
}

// config reads the config, from GitHub with the token when it lives there.
func (a *run) config(ctx context.Context) (*bot.ConfigFile, error) {
	var files server.FileReader
	if _, _, remote := server.RemoteConfig(a.Env.Config); remote {
		if a.Env.Token == "" {
			return nil, errNoToken
		}
		f, err := a.factory()
		if err != nil {
			return nil, err
		}
		files = gh.Routed(f.ForRepo)
	}
	src, _, err := server.ConfigSource(a.Env.Config, files)
	if err != nil {
		return nil, err
	}
	return src(ctx)
}

// configExit is 2 for a config that is wrong, 3 for one that could not
// be read.
func configExit(err error) int {
	var ve *workspace.ValidationError
	if errors.As(err, &ve) || errors.Is(err, errNoToken) || errors.Is(err, changeset.ErrNotFound) {
		return exitcode.Usage
	}
	return exitcode.Infra
}

func (a *run) validate(ctx context.Context) int {
	cfg, err := a.config(ctx)
	if err != nil {
		return a.fail(configExit(err), "wrknv.toml", err)
	}
	order, err := cfg.Order()
	if err != nil {
		return a.fail(exitcode.Usage, "wrknv.toml", err)
	}
	names := make([]string, len(order))
	for i, s := range order {
		names[i] = s.Name
	}
	fmt.Fprintf(a.Stdout, "%s: %d siblings, valid; build order: %s\n", cfg.Workspace.Name, len(order), strings.Join(names, ", "))
	return exitcode.OK
}

// progress prints one line per finished fetch and checkout and per step.
// Commands are folded to one line so nothing printed starts with "::".
func (a *run) progress() func(ci.Event) {
	if a.Progress == nil {
		return nil
	}
	return func(e ci.Event) {
		e.Command = oneLine(e.Command)
		e.Detail = oneLine(e.Detail)
		a.Progress(e)
	}
}

// changeset handles a PR event with the bot's core, which builds and
// reports each plan it makes at once. The records (approvals, comment and
// check run ids) live only for this step.
func (a *run) changeset(ctx context.Context, event string, payload []byte) int {
	ev, err := gh.DecodeEvent(event, payload)
	if err != nil {
		return a.skip(fmt.Sprintf("the %s payload cannot be read: %s", event, err))
	}
	var test *changeset.Ref
	if a.Env.Command == CommandTest {
		if test = testRef(ev); test == nil {
			return a.skip("the command input is test, but the event is not about a pull request")
		}
	}
	dataDir, cleanup, err := dataDirOrTemp(a.Env.DataDir, "workspace-bot-action-*")
	if err != nil {
		return a.fail(exitcode.Infra, "workspace-bot", err)
	}
	defer cleanup()
	stateDir, err := os.MkdirTemp("", "workspace-bot-action-state-*")
	if err != nil {
		return a.fail(exitcode.Infra, "workspace-bot", err)
	}
	defer os.RemoveAll(stateDir)
	b, st, err := server.NewBot(ctx, server.BotOptions{
		GitHub: ghclient.Options{APIURL: a.Env.APIURL, Token: a.Env.Token, UserAgent: a.UserAgent},
		Config: a.Env.Config, DataDir: dataDir, StorePath: store.Path(stateDir),
		RunURL: func(int64) string { return a.Env.RunURL() }, Checks: true, Log: a.log, Progress: a.progress(),
		Secrets: a.secrets(),
		// A fork's pull_request workflow gets no secrets from GitHub and
		// runs on a machine thrown away after the job: a build there needs
		// no sandbox and no limits to be allowed (see the README's
		// Security section).
		AllowUnsandboxed: true, AllowUnlimited: true,
		// Refused reports are said once per repository (refused), not
		// once per report.
		QuietRefusals: true,
	})
	if err != nil {
		return a.fail(configExit(err), "workspace-bot", err)
	}
	defer st.Close()
	// Read the config now, so a missing or broken one fails at once
	// instead of after the retries an event gets.
	cfg, err := a.config(ctx)
	if err != nil {
		return a.fail(configExit(err), "wrknv.toml", err)
	}
	// A cancelled job cancels the build with a cause the report names;
	// the report itself still goes out.
	bctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	stop := context.AfterFunc(ctx, func() { cancel(errCancelled) })
	defer stop()
	handled, err := handle(bctx, b, ev, test)
	a.flush(ctx, b)
	defer a.refused(ctx, b)()
	if bctx.Err() != nil && !built(handled) {
		a.wf.Error("workspace-bot", errCancelled.Error())
		if err := Outputs(a.Env, (*changeset.Changeset)(nil).Output(), ci.Cancelled); err != nil {
			fmt.Fprintf(a.Stderr, "error: %s\n", err)
		}
		return exitcode.Failed
	}
	if err != nil {
		return a.fail(exitcode.Infra, "workspace-bot", fmt.Errorf("handling the %s event: %w", event, err))
	}
	return a.report(b, cfg, handled)
}

// flushWait bounds how long the step waits for GitHub to accept the
// reports it did not accept at once.
const flushWait = 2 * time.Minute

// flush sends the reports GitHub did not accept at once (a 5xx on a
// comment, a rate limit outlasting the client's wait), trying again with
// backoff, so the step gives the service's guarantee within its run. What
// is still unsent at the end is an error annotation: the PRs may show a
// stale state.
func (a *run) flush(ctx context.Context, b *bot.Bot) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushWait)
	defer cancel()
	left, err := b.Flush(fctx)
	if left == 0 && err == nil {
		return
	}
	msg := fmt.Sprintf("%d reports (statuses, check runs, summary comments) were not accepted by GitHub within %s; the pull requests may show a stale state", left, flushWait)
	if err != nil {
		msg += ": " + err.Error()
	}
	a.wf.Error("workspace-bot", msg)
}

// refused warns once per repository where GitHub refused the step's
// reports; the func it returns lists those PRs in the step summary,
// after whatever the step writes there.
func (a *run) refused(ctx context.Context, b *bot.Bot) func() {
	refused, err := b.Refused(context.WithoutCancel(ctx))
	if err != nil {
		fmt.Fprintf(a.Stderr, "error: listing the reports GitHub refused: %s\n", err)
	}
	WarnRefused(a.wf, refused)
	return func() {
		if err := AppendSummary(a.Env.SummaryFile, RefusedSummary(refused)); err != nil {
			fmt.Fprintf(a.Stderr, "error: %s\n", err)
		}
	}
}

// handle handles the event, or tests the PR the test command names,
// retrying what a retry can fix (GitHub or the network failing) a few
// times, as the service's queue would.
func handle(ctx context.Context, b *bot.Bot, ev bot.Event, test *changeset.Ref) (*bot.Handled, error) {
	for attempt, wait := 1, time.Second; ; attempt, wait = attempt+1, wait*2 {
		var h *bot.Handled
		var err error
		if test != nil {
			h, err = b.Test(ctx, *test, "test command on "+test.String())
		} else {
			h, err = b.Handle(ctx, ev)
		}
		if err == nil || attempt == 3 || built(h) {
			return h, err
		}
		select {
		case <-ctx.Done():
			return h, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func built(h *bot.Handled) bool { return h != nil && len(h.Runs) > 0 }

// testRef is the PR an event is about, for the test command.
func testRef(ev bot.Event) *changeset.Ref {
	switch e := ev.(type) {
	case *bot.PullRequestEvent:
		if e.PR != nil && e.PR.Repo != "" && e.PR.Number != 0 {
			return &changeset.Ref{Repo: e.PR.Repo, Number: e.PR.Number}
		}
	case *bot.CommentEvent:
		if e.OnPR && e.Repo != "" && e.Number != 0 {
			return &changeset.Ref{Repo: e.Repo, Number: e.Number}
		}
	}
	return nil
}

// report prints the builds' logs and writes the summary, outputs and exit
// code; an event that built nothing says why.
func (a *run) report(b *bot.Bot, cfg *bot.ConfigFile, h *bot.Handled) int {
	label := cfg.StatusContext()
	if len(h.Runs) == 0 {
		return a.nothingBuilt(label, h)
	}
	results := make([]lifecycle.Result, 0, len(h.Runs))
	for _, r := range h.Runs {
		Groups(a.wf, label, r.Outcome.Result)
		results = append(results, r.Outcome.Result.Result)
	}
	result := lifecycle.Overall(results...)
	last := h.Runs[len(h.Runs)-1]
	if s, err := b.SummaryText(last.Plan, last.Outcome); err == nil {
		if err := AppendSummary(a.Env.SummaryFile, StepSummary(s)); err != nil {
			fmt.Fprintf(a.Stderr, "error: %s\n", err)
		}
	}
	if err := Outputs(a.Env, last.Plan.Changeset.Output(), result); err != nil {
		return a.fail(exitcode.Infra, "workspace-bot", err)
	}
	fmt.Fprintf(a.Stdout, "%s: %s (%s)\n", label, result, a.Env.RunURL())
	return lifecycle.Show(lifecycle.Done, result).Exit
}

// nothingBuilt ends an event that built nothing: a changeset that could
// not be resolved (exit 2, as the changeset command), or one that asked
// for nothing (skipped, exit 0).
func (a *run) nothingBuilt(label string, h *bot.Handled) int {
	if n := len(h.Unresolved); n > 0 {
		u := h.Unresolved[n-1]
		if err := AppendSummary(a.Env.SummaryFile, StepSummary(u.Summary)); err != nil {
			fmt.Fprintf(a.Stderr, "error: %s\n", err)
		}
		a.wf.Error(label, u.Description)
		if err := Outputs(a.Env, (*changeset.Changeset)(nil).Output(), ci.Error); err != nil {
			fmt.Fprintf(a.Stderr, "error: %s\n", err)
		}
		return exitcode.Usage
	}
	why := "the event asked for no run (no command in the comment, or not about an open pull request)"
	if n := len(h.Waiting); n > 0 {
		why = h.Waiting[n-1].Description
	} else if n := len(h.Replies); n > 0 {
		why = "answered on the pull request: " + text.FirstLine(strings.TrimSpace(h.Replies[n-1]))
	}
	return a.skip(why)
}

// tips builds every sibling at its branch tip: a push, a schedule or a
// manual run in the workspace repository. It reports only to the step
// summary and outputs: there is no PR to report on.
func (a *run) tips(ctx context.Context) int {
	cfg, err := a.config(ctx)
	if err != nil {
		return a.fail(configExit(err), "wrknv.toml", err)
	}
	if ws := cfg.WorkspaceFullName(); a.Env.Command != CommandTest && !strings.EqualFold(ws, a.Env.Repository) {
		return a.skip(fmt.Sprintf("a %s event in %s, which is not the workspace repository %s: siblings are tested on pull_request and issue_comment events", a.Env.EventName, a.Env.Repository, ws))
	}
	dataDir, cleanup, err := dataDirOrTemp(a.Env.DataDir, "workspace-bot-action-*")
	if err != nil {
		return a.fail(exitcode.Infra, "workspace-bot", err)
	}
	defer cleanup()
	// Private siblings on the same GitHub are fetched with the token.
	f, err := a.factory()
	if err != nil {
		return a.fail(exitcode.Usage, "workspace-bot", err)
	}
	runner := &ci.Runner{DataDir: dataDir, Progress: a.progress(), Authorization: f.GitAuthorization, Secrets: a.secrets()}
	plan := bot.NewPlan(cfg, &changeset.Changeset{Key: "tips"})
	res, err := runner.Run(ctx, ci.Request{Config: cfg.Config, Pins: plan.Pins, Changeset: "tips"})
	if res == nil {
		return a.fail(ci.ExitCode(res, err), "workspace-bot", err)
	}
	label := cfg.StatusContext()
	Groups(a.wf, label, res)
	md, merr := TipsSummary(label, cfg.CommandWord(), a.Env.RunURL(), res)
	if merr == nil {
		merr = AppendSummary(a.Env.SummaryFile, md)
	}
	if merr != nil {
		fmt.Fprintf(a.Stderr, "error: %s\n", merr)
	}
	out := struct {
		Key      string             `json:"key"`
		Siblings []ci.SiblingResult `json:"siblings"`
	}{"tips", res.Siblings}
	if err := Outputs(a.Env, out, res.Result); err != nil {
		return a.fail(exitcode.Infra, "workspace-bot", err)
	}
	fmt.Fprintf(a.Stdout, "%s: %s at the branch tips\n", label, res.Result)
	return ci.ExitCode(res, err)
}

// dataDirOrTemp returns dir, or a new temporary directory (and a func
// that removes it) when dir is empty.
func dataDirOrTemp(dir, pattern string) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, fmt.Errorf("create data directory %s: %w", dir, err)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", nil, err
		}
		return abs, func() {}, nil
	}
	d, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", nil, fmt.Errorf("create a temporary data directory: %w", err)
	}
	return d, func() { os.RemoveAll(d) }, nil
}
