// Package server builds the workspace-bot service from its parts, in one
// place, so that serve, the demo and the end-to-end tests run the same
// code: the GitHub client stack, the config source, the store, the build
// runner, the bot and its workers, the webhook handler, the metrics both
// report to, and the pruning of old state. cmd parses flags and calls it.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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

// Options configure the service.
type Options struct {
	GitHub ghclient.Options
	// Config is a local path to wrknv.toml, or owner/repo:path to read it
	// from GitHub for every run.
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

// Server is the wired service; Close releases what it holds.
type Server struct {
	Store   *store.Store
	Bot     *bot.Bot
	Handler http.Handler // nil without a secret
	Builder *Builder
	Config  bot.ConfigSource
	App     bool // reporting with check runs as a GitHub App
	log     *logrus.Logger
}

// UsageError is a start-up failure the operator fixes with flags or
// config.
type UsageError struct{ Err error }

func (u UsageError) Error() string { return u.Err.Error() }
func (u UsageError) Unwrap() error { return u.Err }

// New opens the store and builds the bot, and the webhook handler with
// the metrics when a secret is given. Nothing is started.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = logrus.New()
		o.Log.SetLevel(logrus.WarnLevel)
	}
	if o.GitHub.Logger == nil {
		o.GitHub.Logger = o.Log.WithField(logging.Component, "github")
	}
	ghMetrics := ghclient.NewMetrics()
	if o.GitHub.Observer == nil && len(o.Secret) > 0 {
		o.GitHub.Observer = ghMetrics
	}
	f, err := ghclient.New(o.GitHub)
	if err != nil {
		return nil, UsageError{Err: err}
	}
	api, checks := GitHub(f)
	cfgSrc, remote, err := ConfigSource(o.Config, api)
	if err != nil {
		return nil, UsageError{Err: err}
	}
	if o.StorePath == "" {
		o.StorePath = store.Path(o.DataDir)
	}
	st, err := store.Open(ctx, o.StorePath)
	if err != nil {
		return nil, err
	}
	s := &Server{Store: st, Config: cfgSrc, App: checks, log: o.Log}
	// The metrics come first: the bot and the webhook handler both
	// report to them, and /metrics serves them with the GitHub client's.
	var metrics *webhook.Metrics
	reg := prometheus.NewRegistry()
	if len(o.Secret) > 0 {
		if metrics, err = webhook.NewMetrics(reg, st.QueueDepth, bot.Events()); err == nil {
			err = ghMetrics.Register(reg)
		}
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	var botGitHub bot.GitHub = api
	if o.WrapGitHub != nil {
		botGitHub = o.WrapGitHub(api)
	}
	// Siblings on the same GitHub are fetched with the service's own
	// credentials, so private repositories build too.
	runner := &ci.Runner{DataDir: o.DataDir, Progress: o.Progress, Authorization: f.GitAuthorization}
	s.Builder = &Builder{Runner: runner, RemoteConfig: remote, Keep: o.KeepResults}
	opts := bot.Options{
		GitHub: botGitHub, Store: st, Builder: s.Builder, Config: cfgSrc, Resolve: Resolve, Decode: gh.DecodeEvent,
		Log: o.Log, Workers: o.Workers, CoalesceWindow: o.CoalesceWindow,
		PublicURL: o.PublicURL, RunURL: o.RunURL, Poll: o.Poll,
		OnDelivery: metrics.DeliveryHandled, OnRun: metrics.RunFinished,
	}
	if checks {
		opts.Checks = api
	}
	if s.Bot, err = bot.New(opts); err != nil {
		st.Close()
		return nil, err
	}
	if len(o.Secret) > 0 {
		h, err := webhook.New(webhook.Options{Secret: o.Secret, Store: st, Events: bot.Events(), Notify: s.Bot.Notify,
			Log: o.Log, Registry: reg, Metrics: metrics})
		if err != nil {
			st.Close()
			return nil, UsageError{Err: err}
		}
		s.Handler = h
	}
	return s, nil
}

// GitHub is the client the service acts through on each repository: the
// token's, or the App's installation on it. Only an App may report with
// check runs.
func GitHub(f *ghclient.Factory) (api *gh.Client, checks bool) {
	return gh.Routed(f.ForRepo), f.IsApp()
}

// Resolve is the bot's resolver: changeset.Resolve with its default
// bounds.
func Resolve(ctx context.Context, api changeset.GitHub, cfg *workspace.Config, start changeset.Ref) (*changeset.Changeset, error) {
	return changeset.Resolve(ctx, api, cfg, start, changeset.Options{})
}

// Close closes the store; stop the bot first.
func (s *Server) Close() error { return s.Store.Close() }

// Serve runs the service on ln until ctx ends, then shuts down in order:
// stop accepting requests, stop claiming work, let running work finish
// within grace (then cancel it; it is queued again). Close the store
// after.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	if s.Handler == nil {
		ln.Close()
		return UsageError{Err: errors.New("server: no webhook secret, so there is no handler to serve")}
	}
	if err := s.Bot.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	pruneCtx, stopPrune := context.WithCancel(context.Background())
	pruned := make(chan struct{})
	go func() {
		defer close(pruned)
		s.prune(pruneCtx, time.Hour)
	}()
	defer func() { stopPrune(); <-pruned }()
	srv := &http.Server{Handler: s.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var serveErr error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down: no new requests or work; running work has the grace period to finish")
	case serveErr = <-served:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.log.WithError(err).Warn("HTTP shutdown did not finish cleanly")
	}
	s.Bot.Stop(grace)
	s.log.Info("stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve HTTP: %w", serveErr)
	}
	return nil
}

// prune deletes old finished deliveries and runs every interval until ctx
// ends.
func (s *Server) prune(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		deliveries, runs, err := s.Store.Prune(ctx, time.Now())
		if err != nil && ctx.Err() == nil {
			s.log.WithError(err).Warn("pruning old deliveries and runs failed")
		}
		if deliveries+runs > 0 {
			s.log.WithFields(logrus.Fields{logging.Deliveries: deliveries, logging.Runs: runs}).Info("pruned old deliveries, runs and their logs")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
