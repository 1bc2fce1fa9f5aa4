package main

import (
	"context"
	"encoding/json"
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
	"github.com/provide-io/workspace-bot/internal/action"
	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/internal/ghactions"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/phony"
	"github.com/provide-io/workspace-bot/internal/server"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/workspace"
)

// actionRun is one invocation of `workspace-bot action`.
type actionRun struct {
	env    action.Env
	gha    *ghactions.Runner
	stdout io.Writer
	stderr io.Writer
	log    *logrus.Logger
}

func runAction(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("action", "action\n\nThe GitHub Action's entry point. It reads the event from GITHUB_EVENT_NAME and\nGITHUB_EVENT_PATH and the action's inputs from WORKSPACE_BOT_GITHUB_TOKEN,\nWORKSPACE_BOT_CONFIG (a path, or owner/repo:path), WORKSPACE_BOT_COMMAND\n(auto, test or validate) and WORKSPACE_BOT_DATA_DIR.", stderr)
	if code, ok := parseNoArgs(fs, args); !ok {
		return code
	}
	env := action.ReadEnv(os.Getenv)
	// The code under test inherits this process's environment: it must
	// not find the token there.
	for _, k := range action.TokenVars {
		os.Unsetenv(k)
	}
	a := &actionRun{env: env, gha: &ghactions.Runner{Out: stdout}, stdout: stdout, stderr: stderr}
	a.gha.Mask(env.Token)
	if err := env.Validate(); err != nil {
		return a.fail(exitUsage, "workspace-bot", err)
	}
	log, err := newLogger(stderr, "text", envOr("warn", "WORKSPACE_BOT_LOG_LEVEL"))
	if err != nil {
		return a.fail(exitUsage, "workspace-bot", err)
	}
	// The runner masks the token too, but a log line must not depend on it.
	log.SetFormatter(&logging.Censor{Inner: log.Formatter, Secrets: []string{env.Token}})
	a.log = log
	if env.Command == action.CommandValidate {
		return a.validate(ctx)
	}
	payload, err := os.ReadFile(env.EventPath)
	if err != nil {
		return a.fail(exitUsage, "workspace-bot", fmt.Errorf("read the event payload GITHUB_EVENT_PATH: %w", err))
	}
	switch env.EventName {
	case "pull_request", "issue_comment":
		return a.changeset(ctx, env.EventName, payload)
	case "pull_request_target":
		// Running a PR's code with secrets at hand is what
		// pull_request_target must never be used for: a workflow wired to
		// it by mistake fails loudly rather than passing with nothing run.
		return a.fail(exitUsage, "workspace-bot", errors.New("refusing pull_request_target: it runs with the base repository's secrets, and this action builds the PR's code; trigger the workflow on pull_request instead"))
	}
	return a.tips(ctx)
}

// fail reports err as an annotation and on stderr, and returns code.
func (a *actionRun) fail(code int, title string, err error) int {
	a.gha.Error(title, err.Error())
	fmt.Fprintf(a.stderr, "error: %s\n", err)
	result := ci.Error
	if err := action.Outputs(a.env, changesetJSON{Members: []memberJSON{}}, result); err != nil {
		fmt.Fprintf(a.stderr, "error: %s\n", err)
	}
	return code
}

// skip ends a run that had nothing to build.
func (a *actionRun) skip(why string, cs any) int {
	fmt.Fprintf(a.stdout, "nothing to build: %s\n", why)
	if cs == nil {
		cs = changesetJSON{Members: []memberJSON{}}
	}
	if err := action.Outputs(a.env, cs, action.Skipped); err != nil {
		return a.fail(exitInfra, "workspace-bot", err)
	}
	if err := ghactions.AppendSummary(a.env.SummaryFile, "### workspace-bot: nothing to build\n\n"+why+"\n"); err != nil {
		fmt.Fprintf(a.stderr, "error: %s\n", err)
	}
	return exitOK
}

// configSource builds the config source, with a GitHub client only when
// the config lives on GitHub.
func (a *actionRun) configSource() (bot.ConfigSource, bool, error) {
	var files server.FileReader
	if _, _, remote := server.RemoteConfig(a.env.Config); remote {
		if a.env.Token == "" {
			return nil, false, errNoToken
		}
		f, err := ghclient.New(ghclient.Options{APIURL: a.env.APIURL, Token: a.env.Token, UserAgent: userAgent()})
		if err != nil {
			return nil, false, err
		}
		files = gh.Routed(f.ForRepo)
	}
	return server.ConfigSource(a.env.Config, files)
}

// gitAuthorization lets the runner fetch private siblings from the same
// GitHub with the action's token; nil without a token.
func (a *actionRun) gitAuthorization() (func(context.Context, string) (string, error), error) {
	if a.env.Token == "" {
		return nil, nil
	}
	f, err := ghclient.New(ghclient.Options{APIURL: a.env.APIURL, Token: a.env.Token})
	if err != nil {
		return nil, err
	}
	return f.GitAuthorization, nil
}

func (a *actionRun) validate(ctx context.Context) int {
	src, _, err := a.configSource()
	if err != nil {
		return a.fail(configExit(err), "wrknv.toml", err)
	}
	cfg, err := src(ctx)
	if err != nil {
		return a.fail(configExit(err), "wrknv.toml", err)
	}
	order, err := cfg.Order()
	if err != nil {
		return a.fail(exitUsage, "wrknv.toml", err)
	}
	names := make([]string, len(order))
	for i, s := range order {
		names[i] = s.Name
	}
	fmt.Fprintf(a.stdout, "%s: %d siblings, valid; build order: %s\n", cfg.Workspace.Name, len(order), strings.Join(names, ", "))
	return exitOK
}

// configExit is 2 for a config that is wrong, 3 for one that could not
// be read.
func configExit(err error) int {
	var ve *workspace.ValidationError
	if errors.As(err, &ve) || errors.Is(err, errNoToken) || errors.Is(err, changeset.ErrNotFound) {
		return exitUsage
	}
	return exitInfra
}

// progress prints one line per finished fetch and checkout and per step.
// Commands are folded to one line so nothing printed starts with "::".
func (a *actionRun) progress() func(ci.Event) {
	p := progressPrinter(a.stdout)
	return func(e ci.Event) {
		e.Command = oneLine(e.Command)
		e.Detail = oneLine(e.Detail)
		p(e)
	}
}

// changeset runs a PR event through the same bot the service runs: the
// same trust rules, commands, statuses and summary comment. The bot gets a
// fresh store and no coalescing window; the action waits until it is idle.
func (a *actionRun) changeset(ctx context.Context, event string, payload []byte) int {
	if a.env.Command == action.CommandTest {
		var ok bool
		if event, payload, ok = testEvent(event, payload); !ok {
			return a.skip("the command input is test, but the event is not about a pull request", nil)
		}
	}
	dataDir, cleanup, err := dataDirOrTemp(a.env.DataDir, "workspace-bot-action-*")
	if err != nil {
		return a.fail(exitInfra, "workspace-bot", err)
	}
	defer cleanup()
	// The queue lives only for this step: nothing queued by an earlier
	// job may run again here.
	stateDir, err := os.MkdirTemp("", "workspace-bot-action-state-*")
	if err != nil {
		return a.fail(exitInfra, "workspace-bot", err)
	}
	defer os.RemoveAll(stateDir)

	rec := &action.GitHub{}
	svc, err := server.New(ctx, server.Options{
		GitHub: ghclient.Options{APIURL: a.env.APIURL, Token: a.env.Token, UserAgent: userAgent()}, Config: a.env.Config,
		DataDir: dataDir, StorePath: store.Path(stateDir), KeepResults: true,
		RunURL:  func(int64) string { return a.env.RunURL() },
		Workers: 1, Poll: 100 * time.Millisecond, Log: a.log, Progress: a.progress(),
		WrapGitHub: func(g bot.GitHub) bot.GitHub { rec.GitHub = g; return rec },
	})
	if err != nil {
		return a.fail(configExit(err), "workspace-bot", err)
	}
	defer svc.Close()
	// Read the config now, so a missing or broken one fails at once
	// instead of after the retries a delivery gets.
	if _, err := svc.Config(ctx); err != nil {
		return a.fail(configExit(err), "wrknv.toml", err)
	}
	if err := svc.Bot.Start(ctx); err != nil {
		return a.fail(exitInfra, "workspace-bot", err)
	}
	derr := dispatch(ctx, svc.Bot, event, payload)
	if derr == nil {
		derr = waitIdle(ctx, svc.Store)
	}
	if ctx.Err() != nil {
		// The job was cancelled: GitHub allows a few seconds before it
		// kills the step, so stop at once and say so on every member.
		svc.Bot.Stop(0)
		return a.cancelled(svc, rec)
	}
	svc.Bot.Stop(30 * time.Second)
	if derr != nil {
		return a.fail(exitInfra, "workspace-bot", fmt.Errorf("handling the %s event: %w", event, derr))
	}
	return a.report(ctx, svc, rec)
}

// cancelled reports the runs a cancelled job left unfinished as cancelled
// on their members' heads, so no PR waits on a pending status forever.
func (a *actionRun) cancelled(svc *server.Server, gh bot.GitHub) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	const why = "cancelled: the workflow run was cancelled"
	a.gha.Error("workspace-bot", why)
	cfg, err := svc.Config(ctx)
	if err != nil {
		fmt.Fprintf(a.stderr, "error: %s\n", err)
		return exitFailed
	}
	runs, err := svc.Store.RecentRuns(ctx, 50)
	if err != nil {
		fmt.Fprintf(a.stderr, "error: %s\n", err)
	}
	for _, r := range runs {
		if r.State != store.RunQueued && r.State != store.RunRunning {
			continue
		}
		var cs changeset.Changeset
		if json.Unmarshal(r.Changeset, &cs) != nil {
			continue
		}
		for _, m := range cs.Members {
			st := bot.Status{State: "error", Context: cfg.StatusContext(), Description: why, TargetURL: a.env.RunURL()}
			if err := gh.SetStatus(ctx, m.PR.Repo, m.PR.HeadSHA, st); err != nil {
				fmt.Fprintf(a.stderr, "error: reporting the cancel on %s: %s\n", m.PR.Ref(), err)
			}
		}
	}
	if err := action.Outputs(a.env, changesetJSON{Members: []memberJSON{}}, ci.Cancelled); err != nil {
		fmt.Fprintf(a.stderr, "error: %s\n", err)
	}
	return exitFailed
}

// dispatch handles the event, retrying what a retry can fix (GitHub or
// the network failing) a few times, as the service's queue would.
func dispatch(ctx context.Context, b *bot.Bot, event string, payload []byte) error {
	var err error
	for attempt, wait := 1, time.Second; ; attempt, wait = attempt+1, wait*2 {
		if err = b.Dispatch(ctx, event, payload); err == nil || attempt == 3 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// waitIdle returns once no run is queued or running.
func waitIdle(ctx context.Context, st *store.Store) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		q, err := st.CountRuns(ctx, store.RunQueued)
		if err != nil {
			return err
		}
		r, err := st.CountRuns(ctx, store.RunRunning)
		if err != nil {
			return err
		}
		if q+r == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// testEvent turns an event about a PR into a pull_request event that
// tests its changeset whatever the event's action was.
func testEvent(event string, payload []byte) (string, []byte, bool) {
	d, err := phony.Decode(payload)
	if err != nil {
		return event, payload, false
	}
	switch event {
	case "pull_request":
		if phony.Set(d, "action", "synchronize") != nil {
			return event, payload, false
		}
		out, err := phony.Marshal(d)
		return event, out, err == nil
	case "issue_comment":
		if _, err := phony.Get(d, "issue.pull_request"); err != nil {
			return event, payload, false
		}
		n, _ := phony.Get(d, "issue.number")
		repo, _ := phony.Get(d, "repository")
		out, err := phony.Marshal(phony.Doc{
			"action": "synchronize", "number": n,
			"pull_request": phony.Doc{"number": n, "state": "open"},
			"repository":   repo,
		})
		return "pull_request", out, err == nil
	}
	return event, payload, false
}

// report prints the finished runs' logs and writes the summary, outputs
// and exit code.
func (a *actionRun) report(ctx context.Context, svc *server.Server, rec *action.GitHub) int {
	cfg, err := svc.Config(ctx)
	if err != nil {
		return a.fail(exitInfra, "workspace-bot", err)
	}
	label := cfg.StatusContext()
	for _, res := range svc.Builder.Results() {
		action.Groups(a.gha, label, res)
	}
	runs, err := svc.Store.RecentRuns(ctx, 100)
	if err != nil {
		return a.fail(exitInfra, "workspace-bot", err)
	}
	result, last := "", (*store.Run)(nil)
	for i := len(runs) - 1; i >= 0; i-- {
		r := &runs[i]
		if r.State == store.RunCancelled && len(r.Result) == 0 {
			continue // waited for approval; nothing was built
		}
		last = r
		result = worse(result, r.State)
	}
	var out any = changesetJSON{Members: []memberJSON{}}
	if last != nil {
		var cs changeset.Changeset
		if json.Unmarshal(last.Changeset, &cs) == nil {
			out = changesetOutput(&cs)
		}
	}
	if result == "" {
		return a.nothingBuilt(rec, out)
	}
	if s := rec.Summary(); s != "" {
		if err := ghactions.AppendSummary(a.env.SummaryFile, action.StepSummary(s)); err != nil {
			fmt.Fprintf(a.stderr, "error: %s\n", err)
		}
	}
	if err := action.Outputs(a.env, out, result); err != nil {
		return a.fail(exitInfra, "workspace-bot", err)
	}
	fmt.Fprintf(a.stdout, "%s: %s (%s)\n", label, result, a.env.RunURL())
	switch result {
	case ci.Success:
		return exitOK
	case ci.Failure, ci.Cancelled:
		return exitFailed
	}
	return exitInfra
}

// nothingBuilt ends an event that built nothing: a changeset that could
// not be resolved (exit 2, as the changeset command), or one that asked
// for nothing (skipped, exit 0).
func (a *actionRun) nothingBuilt(rec *action.GitHub, out any) int {
	for _, st := range rec.Statuses() {
		if st.State == "failure" || st.State == "error" {
			if s := rec.Summary(); s != "" {
				ghactions.AppendSummary(a.env.SummaryFile, action.StepSummary(s))
			}
			a.gha.Error(st.Context, st.Description)
			if err := action.Outputs(a.env, out, ci.Error); err != nil {
				fmt.Fprintf(a.stderr, "error: %s\n", err)
			}
			return exitUsage
		}
	}
	why := "the event asked for no run (no command in the comment, or not about an open pull request)"
	if st := rec.Statuses(); len(st) > 0 {
		why = st[len(st)-1].Description
	} else if r := rec.Replies(); len(r) > 0 {
		why = "answered on the pull request: " + firstLine(r[len(r)-1])
	}
	return a.skip(why, out)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// worse is the worse of two results: error, then failure, then cancelled.
func worse(a, b string) string {
	rank := map[string]int{"": 0, ci.Success: 1, ci.Cancelled: 2, ci.Failure: 3, ci.Error: 4}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// changesetOutput is the changeset as the changeset command prints it.
func changesetOutput(cs *changeset.Changeset) changesetJSON {
	out := changesetJSON{Key: cs.Key, RunID: cs.RunID, Members: []memberJSON{}}
	for _, m := range cs.Members {
		p := m.PR
		out.Members = append(out.Members, memberJSON{Sibling: m.Sibling, Ref: p.Ref(), Repo: p.Repo, Number: p.Number,
			Title: p.Title, URL: p.URL, HeadRef: p.HeadRef, HeadSHA: p.HeadSHA, HeadRepo: p.HeadRepo,
			BaseRef: p.BaseRef, Fork: p.Fork, Links: m.Links})
	}
	return out
}

// tips builds every sibling at its branch tip: a push, a schedule or a
// manual run in the workspace repository. It reports only to the step
// summary and outputs: there is no PR to report on.
func (a *actionRun) tips(ctx context.Context) int {
	src, remote, err := a.configSource()
	if err != nil {
		return a.fail(configExit(err), "wrknv.toml", err)
	}
	cfg, err := src(ctx)
	if err != nil {
		return a.fail(configExit(err), "wrknv.toml", err)
	}
	if ws := cfg.WorkspaceFullName(); a.env.Command != action.CommandTest && !strings.EqualFold(ws, a.env.Repository) {
		return a.skip(fmt.Sprintf("a %s event in %s, which is not the workspace repository %s: siblings are tested on pull_request and issue_comment events", a.env.EventName, a.env.Repository, ws), nil)
	}
	dataDir, cleanup, err := dataDirOrTemp(a.env.DataDir, "workspace-bot-action-*")
	if err != nil {
		return a.fail(exitInfra, "workspace-bot", err)
	}
	defer cleanup()
	auth, err := a.gitAuthorization()
	if err != nil {
		return a.fail(exitUsage, "workspace-bot", err)
	}
	b := &server.Builder{Runner: &ci.Runner{DataDir: dataDir, Progress: a.progress(), Authorization: auth}, RemoteConfig: remote}
	res, err := b.Run(ctx, ci.Request{Config: cfg, Pins: map[string]ci.Pin{}, Changeset: "tips"})
	if res == nil {
		return a.fail(testExitCode(res, err), "workspace-bot", err)
	}
	label := cfg.StatusContext()
	action.Groups(a.gha, label, res)
	md, merr := action.TipsSummary(label, cfg.CommandWord(), a.env.RunURL(), res)
	if merr == nil {
		merr = ghactions.AppendSummary(a.env.SummaryFile, md)
	}
	if merr != nil {
		fmt.Fprintf(a.stderr, "error: %s\n", merr)
	}
	out := struct {
		Key      string             `json:"key"`
		Siblings []ci.SiblingResult `json:"siblings"`
	}{"tips", res.Siblings}
	if err := action.Outputs(a.env, out, res.Result); err != nil {
		return a.fail(exitInfra, "workspace-bot", err)
	}
	fmt.Fprintf(a.stdout, "%s: %s at the branch tips\n", label, res.Result)
	return testExitCode(res, err)
}

var errNoToken = errors.New("no GitHub token: set WORKSPACE_BOT_GITHUB_TOKEN (the action's token input) or GITHUB_TOKEN")

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
