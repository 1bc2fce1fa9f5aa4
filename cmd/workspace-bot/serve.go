package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/server"
)

// Defaults of serve's flags.
const (
	defaultListen         = "127.0.0.1:8080"
	defaultShutdownGrace  = 30 * time.Second
	defaultServeLogFormat = "json"
)

const serveSynopsis = `serve [flags]

Runs the webhook service: POST /webhook, GET /healthz, GET /metrics,
GET /runs/{id} and GET /runs/{id}/log. Every flag has an environment
variable WORKSPACE_BOT_<FLAG> (upper case, dashes as underscores).`

// parseServeFlags fills server.ServeOptions from args and the environment; ok is
// false with the exit code when serve should stop.
func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (*server.ServeOptions, int, bool) {
	env := func(key, def string) string {
		if v := getenv("WORKSPACE_BOT_" + key); v != "" {
			return v
		}
		return def
	}
	o := &server.ServeOptions{GitHub: githubFlags(), Handed: secrets.Values()}
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
	fs.StringVar(&o.BuildUser, "build-user", env("BUILD_USER", ""), "run setup and test steps as this user (serve must run as root); default a throwaway uid, \"root\" to keep them root (env WORKSPACE_BOT_BUILD_USER)")
	fs.BoolVar(&o.AllowUnsandboxed, "allow-unsandboxed", envBool(env("ALLOW_UNSANDBOXED", "")), "build untrusted forks' PRs even where steps cannot be sandboxed (env WORKSPACE_BOT_ALLOW_UNSANDBOXED)")
	fs.BoolVar(&o.AllowUnlimited, "allow-unlimited", envBool(env("ALLOW_UNLIMITED", "")), "build untrusted forks' PRs even where their steps cannot get memory and process limits (env WORKSPACE_BOT_ALLOW_UNLIMITED)")
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
	log.SetFormatter(&logging.Censor{Inner: log.Formatter, Secrets: o.Secrets()})
	if secrets != nil {
		for _, w := range secrets.Warnings {
			log.Warn(w)
		}
	}
	if err := server.Serve(ctx, o, log); err != nil {
		log.WithError(err).Error("workspace-bot serve stopped")
		var ue server.UsageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitInfra
	}
	return exitOK
}
