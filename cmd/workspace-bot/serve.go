package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/server"
	"github.com/provide-io/workspace-bot/webhook"
	"github.com/provide-io/workspace-bot/workspace"
)

// Defaults of serve's flags.
const (
	defaultListen         = "127.0.0.1:8080"
	defaultShutdownGrace  = 30 * time.Second
	defaultServeLogFormat = "json"
)

// serveOptions are serve's flags, each with a WORKSPACE_BOT_* variable.
type serveOptions struct {
	Listen            string
	WebhookSecret     string
	WebhookSecretFile string
	GitHub            cli.GitHubFlags
	Config            string
	WorkspaceRepo     string
	DataDir           string
	Workers           int
	PublicURL         string
	LogFormat         string
	LogLevel          string
	CoalesceWindow    time.Duration
	ShutdownGrace     time.Duration
	MaxInFlight       string
	BuildUser         string
	AllowUnsandboxed  bool
	DiskReserve       string

	// Filled by Validate.
	secret      []byte
	gh          ghclient.Options
	maxInFlight int64
	diskReserve int64
}

const serveSynopsis = `serve [flags]

Runs the webhook service: POST /webhook, GET /healthz, GET /metrics,
GET /runs/{id} and GET /runs/{id}/log. Every flag has an environment
variable WORKSPACE_BOT_<FLAG> (upper case, dashes as underscores).`

// parseServeFlags fills serveOptions from args and the environment; ok is
// false with the exit code when serve should stop.
func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (*serveOptions, int, bool) {
	env := func(key, def string) string {
		if v := getenv("WORKSPACE_BOT_" + key); v != "" {
			return v
		}
		return def
	}
	o := &serveOptions{GitHub: githubFlags()}
	fs := cli.NewFlagSet("serve", serveSynopsis, stderr)
	fs.StringVar(&o.Listen, "listen", env("LISTEN", defaultListen), "address to serve on; use :8080 to listen on every interface (env WORKSPACE_BOT_LISTEN)")
	fs.StringVar(&o.WebhookSecret, "webhook-secret", "", "the webhook secret configured on GitHub; required (env WORKSPACE_BOT_WEBHOOK_SECRET)")
	fs.StringVar(&o.WebhookSecretFile, "webhook-secret-file", "", "read the webhook secret from this file instead (env WORKSPACE_BOT_WEBHOOK_SECRET_FILE)")
	o.GitHub.Register(fs)
	fs.StringVar(&o.Config, "config", env("CONFIG", ""), "local wrknv.toml, read once at start (env WORKSPACE_BOT_CONFIG); default ./wrknv.toml")
	fs.StringVar(&o.WorkspaceRepo, "workspace-repo", env("WORKSPACE_REPO", ""), "owner/repo whose default branch holds wrknv.toml, read again for every run (env WORKSPACE_BOT_WORKSPACE_REPO)")
	fs.StringVar(&o.DataDir, "data-dir", env("DATA_DIR", defaultDataDir()), "database, git mirrors, build roots and HTTP cache (env WORKSPACE_BOT_DATA_DIR)")
	fs.IntVar(&o.Workers, "workers", envInt(env("WORKERS", ""), bot.DefaultWorkers), "runs built at once (env WORKSPACE_BOT_WORKERS)")
	fs.StringVar(&o.PublicURL, "public-url", env("PUBLIC_URL", ""), "the service's URL as GitHub users reach it, for links to run pages (env WORKSPACE_BOT_PUBLIC_URL); default http://<listen>")
	fs.StringVar(&o.LogFormat, "log-format", env("LOG_FORMAT", defaultServeLogFormat), "json or text (env WORKSPACE_BOT_LOG_FORMAT)")
	fs.StringVar(&o.LogLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (env WORKSPACE_BOT_LOG_LEVEL)")
	fs.DurationVar(&o.CoalesceWindow, "coalesce-window", envDuration(env("COALESCE_WINDOW", ""), bot.DefaultCoalesceWindow), "how long a queued run waits for more events of its changeset (env WORKSPACE_BOT_COALESCE_WINDOW)")
	fs.DurationVar(&o.ShutdownGrace, "shutdown-grace", envDuration(env("SHUTDOWN_GRACE", ""), defaultShutdownGrace), "on SIGTERM, how long running work may finish before it is cancelled and queued again (env WORKSPACE_BOT_SHUTDOWN_GRACE)")
	fs.StringVar(&o.MaxInFlight, "max-in-flight", env("MAX_IN_FLIGHT", "64MB"), "bytes of webhook bodies held in memory at once, across all requests; past it a delivery gets 503 and GitHub can redeliver it (env WORKSPACE_BOT_MAX_IN_FLIGHT)")
	fs.StringVar(&o.BuildUser, "build-user", env("BUILD_USER", ""), "run setup and test steps as this unprivileged user (serve must run as root) (env WORKSPACE_BOT_BUILD_USER)")
	fs.BoolVar(&o.AllowUnsandboxed, "allow-unsandboxed", envBool(env("ALLOW_UNSANDBOXED", "")), "build untrusted forks' PRs even where steps cannot be sandboxed (env WORKSPACE_BOT_ALLOW_UNSANDBOXED)")
	fs.StringVar(&o.DiskReserve, "disk-reserve", env("DISK_RESERVE", "64MB"), "free space on the data dir's disk that run logs never take, kept for webhook deliveries; a run whose log reaches it fails (env WORKSPACE_BOT_DISK_RESERVE)")
	if code, ok := cli.Parse(fs, args); !ok {
		return nil, code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve takes no arguments, got %q\n", fs.Args())
		return nil, exitUsage, false
	}
	// Secrets are read from the environment after parsing, so --help
	// never prints one as a default.
	if o.WebhookSecret == "" {
		o.WebhookSecret = getenv("WORKSPACE_BOT_WEBHOOK_SECRET")
	}
	if o.WebhookSecretFile == "" {
		o.WebhookSecretFile = getenv("WORKSPACE_BOT_WEBHOOK_SECRET_FILE")
	}
	return o, exitOK, true
}

func envInt(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

func envBool(s string) bool {
	b, _ := strconv.ParseBool(s)
	return b
}

func envDuration(s string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s); err == nil {
		return d
	}
	return def
}

// Validate checks the options and reads the secrets. Its errors name the
// flag and the fix, never a secret's value.
func (o *serveOptions) Validate() error {
	switch {
	case o.WebhookSecret != "" && o.WebhookSecretFile != "":
		return errors.New("give the webhook secret once: --webhook-secret or --webhook-secret-file, not both")
	case o.WebhookSecretFile != "":
		data, err := os.ReadFile(o.WebhookSecretFile)
		if err != nil {
			return fmt.Errorf("--webhook-secret-file: cannot read %s: %w", o.WebhookSecretFile, errors.Unwrap(err))
		}
		o.secret = bytes.TrimSpace(data)
	default:
		o.secret = []byte(o.WebhookSecret)
	}
	if len(o.secret) == 0 {
		return errors.New("no webhook secret: set --webhook-secret, WORKSPACE_BOT_WEBHOOK_SECRET or WORKSPACE_BOT_WEBHOOK_SECRET_FILE " +
			"to the secret configured on the GitHub webhook (without one, unsigned requests would be accepted)")
	}
	if _, _, err := net.SplitHostPort(o.Listen); err != nil {
		return fmt.Errorf("--listen %q: use host:port, such as 127.0.0.1:8080 or :8080", o.Listen)
	}
	if o.Config != "" && o.WorkspaceRepo != "" {
		return errors.New("give --config (a local wrknv.toml) or --workspace-repo (read it from GitHub), not both")
	}
	if o.WorkspaceRepo != "" && !server.ValidRepo(o.WorkspaceRepo) {
		return fmt.Errorf("--workspace-repo %q: use owner/repo", o.WorkspaceRepo)
	}
	if o.Workers < 1 || o.Workers > 64 {
		return fmt.Errorf("--workers %d: use 1 to 64", o.Workers)
	}
	if o.CoalesceWindow < 0 || o.CoalesceWindow > 10*time.Minute {
		return fmt.Errorf("--coalesce-window %s: use 0 to 10m", o.CoalesceWindow)
	}
	if o.ShutdownGrace < 0 {
		return fmt.Errorf("--shutdown-grace %s must not be negative", o.ShutdownGrace)
	}
	n, err := workspace.ParseSize(o.MaxInFlight)
	// A body is read into a buffer that doubles, and both are counted
	// while it grows: twice the largest delivery always fits.
	if err != nil || n < 2*webhook.MaxBody {
		return fmt.Errorf("--max-in-flight %q: use a size of at least %dMB, such as 64MB, so a delivery of GitHub's largest size fits", o.MaxInFlight, 2*webhook.MaxBody>>20)
	}
	o.maxInFlight = n
	if o.diskReserve, err = workspace.ParseSize(o.DiskReserve); err != nil {
		return fmt.Errorf("--disk-reserve %q: use a size such as 64MB", o.DiskReserve)
	}
	if err := checkBuildUser(o.BuildUser); err != nil {
		return err
	}
	if o.DataDir == "" {
		return errors.New("--data-dir is empty: name a directory for the database and git mirrors")
	}
	if o.PublicURL == "" {
		host, port, _ := net.SplitHostPort(o.Listen)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		o.PublicURL = "http://" + net.JoinHostPort(host, port)
	}
	if u, err := url.Parse(o.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--public-url %q: use an http or https URL, such as https://bot.example.com", o.PublicURL)
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if o.LogFormat != "json" && o.LogFormat != "text" {
		return fmt.Errorf("--log-format %q: use json or text", o.LogFormat)
	}
	if _, err := logrus.ParseLevel(o.LogLevel); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", o.LogLevel)
	}
	g, err := o.GitHub.Options(o.DataDir)
	if err != nil {
		return err
	}
	o.gh = g
	return nil
}

// configSpec is what the service reads its config from: a local file or owner/repo:path.
func (o *serveOptions) configSpec() string {
	if o.WorkspaceRepo != "" {
		return o.WorkspaceRepo + ":" + workspace.DefaultFileName
	}
	return o.Config
}

// hidden are the files holding credentials, which no build step may read.
func (o *serveOptions) hidden() []string {
	var out []string
	for _, f := range []string{o.WebhookSecretFile, o.GitHub.TokenPath()} {
		if f != "" {
			out = append(out, f)
		}
	}
	if key := o.GitHub.AppKeyPath(); key != "" {
		out = append(out, key)
	}
	return out
}

// secrets are the values the logs must never show.
func (o *serveOptions) secrets() []string {
	out := append([]string{string(o.secret), o.gh.Token}, secrets.Values()...)
	for _, line := range strings.Split(string(o.gh.AppPrivateKey), "\n") {
		if len(strings.TrimSpace(line)) > 16 && !strings.HasPrefix(line, "-----") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

func runServe(ctx context.Context, args []string, _, stderr io.Writer) int {
	o, code, ok := parseServeFlags(args, getenv, stderr)
	if !ok {
		return code
	}
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "workspace-bot serve: %s\n", err)
		return exitUsage
	}
	// main took the credentials out of the process (secretenv); when
	// serve runs inside another program, Go's copy of its environment
	// still has them, and a child started without its own environment
	// would inherit them.
	for _, k := range credentials.Vars {
		os.Unsetenv(k)
	}
	log, err := cli.NewLogger(stderr, o.LogFormat, o.LogLevel)
	if err != nil {
		fmt.Fprintf(stderr, "workspace-bot serve: %s\n", err)
		return exitUsage
	}
	log.SetFormatter(&logging.Censor{Inner: log.Formatter, Secrets: o.secrets()})
	if secrets != nil {
		for _, w := range secrets.Warnings {
			log.Warn(w)
		}
	}
	if err := serve(ctx, o, log); err != nil {
		log.WithError(err).Error("workspace-bot serve stopped")
		var ue server.UsageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitInfra
	}
	return exitOK
}

// serve runs the service until ctx ends.
func serve(ctx context.Context, o *serveOptions, log *logrus.Logger) error {
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return fmt.Errorf("create --data-dir %s: %w", o.DataDir, err)
	}
	srv, err := server.New(ctx, server.Options{
		BotOptions: server.BotOptions{GitHub: o.gh, Config: o.configSpec(), DataDir: o.DataDir, PublicURL: o.PublicURL, Log: log,
			Secrets: o.secrets(), BuildUser: o.BuildUser, Hide: o.hidden(), AllowUnsandboxed: o.AllowUnsandboxed, DiskReserve: o.diskReserve},
		Secret: o.secret, Workers: o.Workers, CoalesceWindow: o.CoalesceWindow, MaxInFlight: o.maxInFlight,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return server.UsageError{Err: fmt.Errorf("--listen %s: %w", o.Listen, err)}
	}
	logSandbox(log, ci.SandboxAvailable(), o.AllowUnsandboxed)
	limit := server.LimitMemory(o.maxInFlight, os.Getenv)
	log.WithFields(logrus.Fields{logging.Addr: ln.Addr().String(), logging.PublicURL: o.PublicURL, logging.Workers: o.Workers, logging.App: srv.App,
		logging.InFlight: o.maxInFlight, logging.MemoryLimit: limit}).Info("workspace-bot serving")
	return srv.Serve(ctx, ln, o.ShutdownGrace)
}

// logSandbox says in one line at start-up how build steps will run.
func logSandbox(log logrus.FieldLogger, unavailable error, allowUnsandboxed bool) {
	switch {
	case unavailable == nil:
		log.Info("build steps run in a sandbox: PID and mount namespaces, a fresh /proc, the data dir hidden")
	case allowUnsandboxed:
		log.WithError(unavailable).Warn("build steps run without a sandbox, untrusted forks' included (--allow-unsandboxed): they can see this service's processes and files")
	default:
		log.WithError(unavailable).Warn("build steps run without a sandbox; builds of untrusted forks' PRs are refused (they fail with an error) unless serve is given --allow-unsandboxed")
	}
}
