package main

// The service's parts, built in one place so that `serve`, `action` and
// `demo` run the same code: the GitHub client, the store, the bot with its
// config source, resolver and builder, and the webhook handler.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/webhook"
	"github.com/provide-io/workspace-bot/workspace"
)

// serviceOptions configure newService.
type serviceOptions struct {
	GitHub ghclient.Options
	// Config is a local path to wrknv.toml, or owner/repo:path to read it
	// from GitHub on every use.
	Config string
	// DataDir holds mirrors and build roots; the database too unless
	// StorePath names another file.
	DataDir   string
	StorePath string
	// PublicURL is where the run pages are served, for status links;
	// RunURL, when set, links runs elsewhere (the Action's workflow run).
	PublicURL string
	RunURL    func(id int64) string
	// Secret, when set, builds the webhook handler too, with the metrics
	// of the bot and the GitHub client on its /metrics.
	Secret         []byte
	Workers        int
	CoalesceWindow time.Duration
	Poll           time.Duration
	Log            *logrus.Logger
	// Progress is told of each fetch, checkout and step of every run.
	Progress func(ci.Event)
	// KeepResults keeps every run's whole result in memory, for the
	// Action's log groups.
	KeepResults bool
	// WrapGitHub, when set, wraps what the bot calls on GitHub.
	WrapGitHub func(bot.GitHub) bot.GitHub
}

// service is the wired service; Close releases what it holds.
type service struct {
	Store   *store.Store
	Bot     *bot.Bot
	Handler *webhook.Handler // nil without a secret
	Builder *workspaceBuilder
	Config  bot.ConfigSource
	App     bool // reporting with check runs as a GitHub App
}

// newService opens the store and builds the bot (and the webhook handler
// when a secret is given). The bot is not started. Errors the operator
// fixes with flags or config are usageErrors.
func newService(ctx context.Context, o serviceOptions) (*service, error) {
	if o.Log == nil {
		o.Log = logrus.New()
		o.Log.SetLevel(logrus.WarnLevel)
	}
	ghMetrics := ghclient.NewMetrics()
	if o.GitHub.Observer == nil && len(o.Secret) > 0 {
		o.GitHub.Observer = ghMetrics
	}
	if o.GitHub.Logger == nil {
		o.GitHub.Logger = o.Log.WithField(logging.Component, "github")
	}
	if o.GitHub.UserAgent == "" {
		o.GitHub.UserAgent = "workspace-bot/" + buildVersion()
	}
	f, err := ghclient.New(o.GitHub)
	if err != nil {
		return nil, usageError{err}
	}
	api, checks, files, err := serviceGitHub(f)
	if err != nil {
		return nil, usageError{err}
	}
	cfgSrc, remote, err := newConfigSource(o.Config, files)
	if err != nil {
		return nil, usageError{err}
	}
	if o.StorePath == "" {
		o.StorePath = store.Path(o.DataDir)
	}
	st, err := store.Open(ctx, o.StorePath)
	if err != nil {
		return nil, err
	}
	if o.WrapGitHub != nil {
		api = o.WrapGitHub(api)
	}
	// Siblings on the same GitHub are fetched with the service's own
	// credentials, so private repositories build too.
	runner := &ci.Runner{DataDir: o.DataDir, Progress: o.Progress, Authorization: f.GitAuthorization}
	builder := &workspaceBuilder{runner: runner, remoteConfig: remote, keep: o.KeepResults}
	// The handler, built after the bot, owns the metrics the bot reports
	// to; a nil *webhook.Metrics ignores them.
	var metrics *webhook.Metrics
	b, err := bot.New(bot.Options{
		GitHub: api, Checks: checks, Store: st, Builder: builder, Config: cfgSrc, Resolve: botResolve, Decode: gh.DecodeEvent,
		Log: o.Log, Workers: o.Workers, CoalesceWindow: o.CoalesceWindow,
		PublicURL: o.PublicURL, RunURL: o.RunURL, Poll: o.Poll,
		OnDelivery: func(event, outcome string) { metrics.DeliveryHandled(event, outcome) },
		OnRun:      func(state string, d time.Duration) { metrics.RunFinished(state, d) },
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	s := &service{Store: st, Bot: b, Builder: builder, Config: cfgSrc, App: checks != nil}
	if len(o.Secret) > 0 {
		h, err := webhook.New(webhook.Options{Secret: o.Secret, Store: st, Events: bot.Events(), Notify: b.Notify, Log: o.Log})
		if err != nil {
			st.Close()
			return nil, usageError{err}
		}
		if err := ghMetrics.Register(h.Registry()); err != nil {
			st.Close()
			return nil, err
		}
		metrics = h.Metrics()
		s.Handler = h
	}
	return s, nil
}

// Close closes the store; stop the bot first.
func (s *service) Close() error { return s.Store.Close() }

// newGitHubClient builds a token client through ghclient's middleware
// stack, for commands that only read.
func newGitHubClient(apiURL, token string, log logrus.FieldLogger) (*gh.Client, error) {
	f, err := ghclient.New(ghclient.Options{APIURL: apiURL, Token: token, Logger: log, UserAgent: "workspace-bot/" + buildVersion()})
	if err != nil {
		return nil, err
	}
	c, err := f.Client()
	if err != nil {
		return nil, err
	}
	return gh.New(c), nil
}

// botResolve is the bot's resolver: changeset.Resolve with its
// default bounds.
func botResolve(ctx context.Context, api changeset.GitHub, cfg *workspace.Config, start changeset.Ref) (*changeset.Changeset, error) {
	return changeset.Resolve(ctx, api, cfg, start, changeset.Options{})
}

// remoteConfigRe matches owner/repo:path, a config read from GitHub.
var remoteConfigRe = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+):(.+)$`)

// splitRemoteConfig reads owner/repo:path; a path that exists on disk is
// always local.
func splitRemoteConfig(spec string) (repo, path string, ok bool) {
	if _, err := os.Stat(spec); err == nil {
		return "", "", false
	}
	m := remoteConfigRe.FindStringSubmatch(spec)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// fileReader reads a file from a repository on GitHub.
type fileReader interface {
	FileContents(ctx context.Context, repo, path, ref string) ([]byte, error)
}

// newConfigSource reads a local wrknv.toml once and checks it now, or
// reads owner/repo:path from GitHub on every call, so a change to it lands
// on the next run. remote says which.
func newConfigSource(spec string, files fileReader) (src bot.ConfigSource, remote bool, err error) {
	if spec == "" {
		spec = workspace.DefaultFileName
	}
	if repo, path, ok := splitRemoteConfig(spec); ok {
		return func(ctx context.Context) (*workspace.Config, error) {
			data, err := files.FileContents(ctx, repo, path, "")
			if err != nil {
				return nil, fmt.Errorf("read the workspace config %s: %w", spec, err)
			}
			cfg, _, err := workspace.Parse(spec, data)
			if err != nil {
				return nil, err
			}
			if cfg.Workspace.Repo == "" {
				return nil, fmt.Errorf("workspace config %s: [workspace] repo is not set; set it so the workspace repository can be checked out", spec)
			}
			return cfg, nil
		}, true, nil
	}
	cfg, _, err := workspace.Load(spec)
	if err != nil {
		return nil, false, err
	}
	return func(context.Context) (*workspace.Config, error) { return cfg, nil }, false, nil
}

// workspaceBuilder is the bot's Builder: ci's runner, with the workspace
// repository pinned to its branch tip when the config came from GitHub
// (there is no local workspace directory to copy then). With keep, it
// keeps each result, whole logs included, for the Action's log groups.
type workspaceBuilder struct {
	runner       *ci.Runner
	remoteConfig bool
	keep         bool

	mu      sync.Mutex
	results []*ci.Result
}

func (w *workspaceBuilder) Run(ctx context.Context, req ci.Request) (*ci.Result, error) {
	if w.remoteConfig && req.Config != nil {
		if _, ok := req.Pins[req.Config.Workspace.Name]; !ok {
			pins := make(map[string]ci.Pin, len(req.Pins)+1)
			for k, v := range req.Pins {
				pins[k] = v
			}
			pins[req.Config.Workspace.Name] = ci.Pin{}
			req.Pins = pins
		}
	}
	res, err := w.runner.Run(ctx, req)
	if res != nil && w.keep {
		w.mu.Lock()
		w.results = append(w.results, res)
		w.mu.Unlock()
	}
	return res, err
}

// Results are the results of every run built so far, oldest first.
func (w *workspaceBuilder) Results() []*ci.Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*ci.Result(nil), w.results...)
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

var errNoToken = errors.New("no GitHub token: set WORKSPACE_BOT_GITHUB_TOKEN (the action's token input) or GITHUB_TOKEN")
