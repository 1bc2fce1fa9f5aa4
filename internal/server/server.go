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
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/store"
	"github.com/provide-io/workspace-bot/land"
	"github.com/provide-io/workspace-bot/release"
	"github.com/provide-io/workspace-bot/webhook"
)

// BotOptions configure the core, as the Action runs it alone and the
// service runs it inside its queue.
type BotOptions struct {
	GitHub ghclient.Options
	// Config is a local path to wrknv.toml, or owner/repo:path to read it
	// from GitHub for every run.
	Config string
	// DataDir holds mirrors and build roots; the database too unless
	// StorePath names another file, or a PostgreSQL URL.
	DataDir   string
	StorePath string
	// Lease is how long the work of a replica that died waits before
	// another takes it (0: store.DefaultLease).
	Lease time.Duration
	// PublicURL is where the run pages are served, for status links;
	// RunURL, when set, links runs elsewhere (the Action's workflow run).
	PublicURL string
	RunURL    func(id int64) string
	// Checks reports with check runs when the credentials may create
	// them, else with statuses; a GitHub App always does.
	Checks bool
	Log    *logrus.Logger
	// Progress is told of each fetch, checkout and step of every run.
	Progress func(ci.Event)
	// Secrets are every credential the process holds, censored out of
	// build output (ci.Runner.Secrets).
	Secrets []string
	// BuildUser runs setup and test steps as this unprivileged user;
	// Hide are more paths no step may read (key and secret files).
	BuildUser string
	Hide      []string
	// Slots is how many warm build roots are kept, one per run that may
	// build at once (ci.Runner.Slots); the service uses its worker count.
	Slots int
	// AllowUnsandboxed builds untrusted forks' code where no sandbox can
	// be made (bot.Options.AllowUnsandboxed).
	AllowUnsandboxed bool
	// Confine gives steps what serve gives them by default (see
	// ci.Runner.Confine): a throwaway uid, no network of the machine for
	// untrusted code, a cgroup with limits per run.
	Confine bool
	// AllowUnlimited builds untrusted forks' code where no cgroup can be
	// made (bot.Options.AllowUnlimited).
	AllowUnlimited bool
	// DiskReserve is the free space run logs never take, kept for
	// webhook deliveries (0: store.DefaultLogReserve).
	DiskReserve int64
	// QuietRefusals: see bot.Options.QuietRefusals.
	QuietRefusals bool
}

// Options configure the service.
type Options struct {
	BotOptions
	// Secret, when set, builds the webhook handler too, with the metrics
	// of the bot and the GitHub client on its /metrics.
	Secret         []byte
	Workers        int
	CoalesceWindow time.Duration
	Poll           time.Duration
	// MaxInFlight bounds the bytes of webhook bodies held at once
	// (0: webhook.DefaultMaxInFlight).
	MaxInFlight int64
	// ReadHeaderTimeout and ReadTimeout bound how long a client may take
	// to send its headers, and its whole request (0: the defaults).
	ReadHeaderTimeout, ReadTimeout time.Duration
	// Executor is where runs are built: "local" (here) or "actions" (a
	// workflow run of the workspace repository per run); "" takes
	// [workspace.bot].executor, else local. Actions configures the
	// latter; its GitHub, Dispatches and ServiceURL are filled here.
	Executor string
	Actions  bot.ActionsOptions
}

// Defaults of the HTTP server's timeouts. GitHub itself gives up on a
// delivery after 10 seconds; a client slower than these is holding a
// connection, not delivering.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	idleTimeout              = 2 * time.Minute
	maxHeaderBytes           = 64 << 10
)

// Server is the wired service; Close releases what it holds.
type Server struct {
	Store   *store.Store
	Bot     *bot.Bot
	Queue   *bot.Queue
	Handler http.Handler // nil without a secret
	App     bool         // reporting with check runs as a GitHub App
	log     *logrus.Logger
	opt     Options
}

// UsageError is a start-up failure the operator fixes with flags or
// config.
type UsageError struct{ Err error }

func (u UsageError) Error() string { return u.Err.Error() }
func (u UsageError) Unwrap() error { return u.Err }

// NewBot opens the store and builds the core: the GitHub client stack,
// the config source, the build runner. Close the store when done.
func NewBot(ctx context.Context, o BotOptions) (*bot.Bot, *store.Store, error) {
	b, st, _, _, err := newBot(ctx, o, nil)
	return b, st, err
}

func newBot(ctx context.Context, o BotOptions, observer ghclient.Observer) (*bot.Bot, *store.Store, bool, *gh.Client, error) {
	if o.Log == nil {
		o.Log = logrus.New()
		o.Log.SetLevel(logrus.WarnLevel)
	}
	if o.GitHub.Logger == nil {
		o.GitHub.Logger = o.Log.WithField(logging.Component, "github")
	}
	if o.GitHub.Observer == nil {
		o.GitHub.Observer = observer
	}
	f, err := ghclient.New(o.GitHub)
	if err != nil {
		return nil, nil, false, nil, UsageError{Err: err}
	}
	api, app := GitHub(f)
	cfgSrc, _, err := ConfigSource(o.Config, api)
	if err != nil {
		return nil, nil, false, nil, UsageError{Err: err}
	}
	if o.StorePath == "" {
		o.StorePath = store.Path(o.DataDir)
	}
	var sopts []store.Option
	if o.Lease > 0 {
		sopts = append(sopts, store.WithLease(o.Lease))
	}
	st, err := store.Open(ctx, o.StorePath, sopts...)
	if err != nil {
		return nil, nil, false, nil, err
	}
	if o.DiskReserve > 0 {
		st.SetLogReserve(o.DiskReserve)
	}
	opts := bot.Options{
		GitHub: api, Records: st, Flaky: st, Config: cfgSrc, Log: o.Log, PublicURL: o.PublicURL, RunURL: o.RunURL,
		Self: gh.Self(f),
		// Siblings on the same GitHub are fetched with the service's own
		// credentials, so private repositories build too.
		Builder: &ci.Runner{DataDir: o.DataDir, Progress: o.Progress, Authorization: f.GitAuthorization,
			Secrets: o.Secrets, BuildUser: o.BuildUser, Hide: o.Hide, Slots: o.Slots,
			Confine: o.Confine, DiskReserve: o.DiskReserve},
		AllowUnsandboxed: o.AllowUnsandboxed, AllowUnlimited: o.AllowUnlimited, QuietRefusals: o.QuietRefusals,
		Land: api, Revert: api, Released: release.Released, ReleaseNotes: release.Notes,
		LandOptions: land.Options{MayChangeWorkflows: f.MayChangeWorkflows},
	}
	if app || o.Checks {
		opts.Checks = api
	}
	b, err := bot.New(opts)
	if err != nil {
		st.Close()
		return nil, nil, false, nil, err
	}
	return b, st, app, api, nil
}

// New opens the store and builds the bot and its queue, and the webhook
// handler with the metrics when a secret is given. Nothing is started.
func New(ctx context.Context, o Options) (*Server, error) {
	ghMetrics := ghclient.NewMetrics()
	var observer ghclient.Observer
	if len(o.Secret) > 0 {
		observer = ghMetrics
	}
	if o.Slots == 0 {
		o.Slots = o.Workers
	}
	b, st, app, api, err := newBot(ctx, o.BotOptions, observer)
	if err != nil {
		return nil, err
	}
	exec, err := executor(ctx, b, st, api, o)
	if err != nil {
		st.Close()
		return nil, err
	}
	log := o.Log
	if log == nil {
		log = logrus.New()
		log.SetLevel(logrus.WarnLevel)
	}
	s := &Server{Store: st, Bot: b, App: app, log: log, opt: o}
	// The metrics come first: the queue and the webhook handler both
	// report to them, and /metrics serves them with the GitHub client's.
	var metrics *webhook.Metrics
	reg := prometheus.NewRegistry()
	if len(o.Secret) > 0 {
		if metrics, err = webhook.NewMetrics(reg, st.QueueDepth, bot.Events()); err == nil {
			err = ghMetrics.Register(reg)
		}
		if err == nil {
			err = webhook.RegisterReportBacklog(reg, st.ReportBacklog)
		}
		if err == nil {
			err = webhook.RegisterUnfinished(reg, st.Busy)
		}
		if err == nil {
			err = webhook.RegisterFlakyTests(reg, st.FlakyTests)
		}
		if err != nil {
			st.Close()
			return nil, err
		}
	}
	s.Queue, err = bot.NewQueue(b, bot.QueueOptions{
		Deliveries: st, Runs: st, Decode: gh.DecodeEvent,
		Workers: o.Workers, CoalesceWindow: o.CoalesceWindow, Poll: o.Poll,
		OnDelivery: metrics.DeliveryHandled, OnRun: metrics.RunFinished, OnLanding: metrics.LandingFinished,
		Executor: exec,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	if len(o.Secret) > 0 {
		wo := webhook.Options{Secret: o.Secret, Store: st, Events: bot.Events(), Notify: s.Queue.Notify,
			Log: log, Registry: reg, Metrics: metrics, MaxInFlight: o.MaxInFlight}
		if _, remote := exec.(*bot.Actions); remote {
			wo.Jobs, wo.WorkflowRun = s.Queue, st.WorkflowRunOf
		}
		h, err := webhook.New(wo)
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
	if err := s.Queue.Start(ctx); err != nil {
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
	srv := s.httpServer()
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
	s.Queue.Stop(grace)
	s.log.Info("stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve HTTP: %w", serveErr)
	}
	return nil
}

// httpServer is the HTTP server with its timeouts. No WriteTimeout: a
// run's log may take a while to stream to a slow reader, and the handler
// bounds its own memory.
func (s *Server) httpServer() *http.Server {
	srv := &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: s.opt.ReadHeaderTimeout,
		ReadTimeout:       s.opt.ReadTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	if srv.ReadHeaderTimeout <= 0 {
		srv.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if srv.ReadTimeout <= 0 {
		srv.ReadTimeout = DefaultReadTimeout
	}
	return srv
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

// MemoryHeadroom is what the service needs beside the webhook bodies it
// holds: its store, caches and goroutines, measured at about 20 MiB idle.
const MemoryHeadroom = 32 << 20

// LimitMemory sets the Go runtime's soft memory limit to maxInFlight
// (0: webhook.DefaultMaxInFlight) plus MemoryHeadroom, unless GOMEMLIMIT
// already sets one, and returns the limit in force. Without it the
// collector lets the heap reach twice what is live, so bodies that are
// bounded to 64 MiB could still take the process near 200 MiB; builds
// run in processes of their own and are not counted.
func LimitMemory(maxInFlight int64, getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	if maxInFlight <= 0 {
		maxInFlight = webhook.DefaultMaxInFlight
	}
	limit := maxInFlight + MemoryHeadroom
	debug.SetMemoryLimit(limit)
	return limit
}
