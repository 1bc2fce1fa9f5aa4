package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/internal/sandbox"
	"github.com/provide-io/workspace-bot/internal/server"
	"github.com/provide-io/workspace-bot/internal/store"
)

// Defaults of serve's flags.
const (
	defaultListen         = "127.0.0.1:8080"
	defaultShutdownGrace  = 30 * time.Second
	defaultServeLogFormat = "json"
)

const serveSynopsis = `serve [flags]

Runs the webhook service: POST /webhook, GET /healthz, GET /metrics,
GET /runs/{id} and GET /runs/{id}/log; with --executor actions, also
GET /runs/{id}/plan and POST /runs/{id}/result for the runs' jobs. Every flag but --check-config has
an environment variable WORKSPACE_BOT_<FLAG> (upper case, dashes as
underscores), parsed as the flag is.`

// parseServeFlags fills server.ServeOptions from args and the environment; ok is
// false with the exit code when serve should stop.
func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (*server.ServeOptions, int, bool) {
	o := &server.ServeOptions{GitHub: githubFlags(), Handed: secrets.Values()}
	fs := cli.NewFlagSet("serve", serveSynopsis, stderr)
	cli.Checked(fs, &o.Listen, "listen", defaultListen, "addr", "address to serve on; use :8080 to listen on every interface (env WORKSPACE_BOT_LISTEN)", cli.HostPort)
	cli.Checked(fs, &o.WebhookSecret, "webhook-secret", "", "string", "the webhook secret configured on GitHub; required (env WORKSPACE_BOT_WEBHOOK_SECRET)", cli.Secret)
	cli.Checked(fs, &o.WebhookSecretFile, "webhook-secret-file", "", "string", "read the webhook secret from this file instead (env WORKSPACE_BOT_WEBHOOK_SECRET_FILE)", cli.ReadableFile)
	o.GitHub.Register(fs)
	cli.Checked(fs, &o.Config, "config", "", "string", "local wrknv.toml, read once at start (env WORKSPACE_BOT_CONFIG); default ./wrknv.toml", cli.ConfigPath)
	cli.Checked(fs, &o.WorkspaceRepo, "workspace-repo", "", "string", "owner/repo whose default branch holds wrknv.toml, read again for every run (env WORKSPACE_BOT_WORKSPACE_REPO)", cli.OwnerRepo)
	cli.Checked(fs, &o.DataDir, "data-dir", defaultDataDir(), "string", "database, git mirrors, build roots and HTTP cache (env WORKSPACE_BOT_DATA_DIR)", cli.Dir)
	cli.Checked(fs, &o.Database, "database", "", "url", "PostgreSQL database that several replicas share, postgres://user:password@host:5432/dbname; default the SQLite file in --data-dir (env WORKSPACE_BOT_DATABASE)", cli.DatabaseURL)
	cli.DurationRange(fs, &o.ReplicaLease, "replica-lease", store.DefaultLease, time.Second, 10*time.Minute, "with --database: how long the work of a replica that stopped answering waits before another replica takes it over (env WORKSPACE_BOT_REPLICA_LEASE)")
	cli.IntRange(fs, &o.Workers, "workers", bot.DefaultWorkers, 1, server.MaxWorkers, "runs built at once (env WORKSPACE_BOT_WORKERS)")
	cli.Checked(fs, &o.PublicURL, "public-url", "", "url", "the service's URL as GitHub users reach it, for links to run pages (env WORKSPACE_BOT_PUBLIC_URL); default http://<listen>", cli.HTTPURL)
	cli.Checked(fs, &o.LogFormat, "log-format", defaultServeLogFormat, "string", "json or text (env WORKSPACE_BOT_LOG_FORMAT)", cli.OneOf("json", "text"))
	cli.Checked(fs, &o.LogLevel, "log-level", "info", "string", "debug, info, warn or error (env WORKSPACE_BOT_LOG_LEVEL)", cli.LogLevel)
	cli.DurationRange(fs, &o.CoalesceWindow, "coalesce-window", bot.DefaultCoalesceWindow, 0, server.MaxCoalesceWindow, "how long a queued run waits for more events of its changeset (env WORKSPACE_BOT_COALESCE_WINDOW)")
	cli.DurationRange(fs, &o.ShutdownGrace, "shutdown-grace", defaultShutdownGrace, 0, 0, "on SIGTERM, how long running work may finish before it is cancelled and queued again (env WORKSPACE_BOT_SHUTDOWN_GRACE)")
	cli.Checked(fs, &o.MaxInFlight, "max-in-flight", "64MB", "size", "bytes of webhook bodies held in memory at once, across all requests; past it a delivery gets 503 and GitHub can redeliver it (env WORKSPACE_BOT_MAX_IN_FLIGHT)", cli.Size(server.MinInFlight))
	cli.Checked(fs, &o.BuildUser, "build-user", "", "string", "run setup and test steps as this user (serve must run as root); default a throwaway uid, \"root\" to keep them root (env WORKSPACE_BOT_BUILD_USER)", sandbox.CheckBuildUser)
	fs.BoolVar(&o.AllowUnsandboxed, "allow-unsandboxed", false, "build untrusted forks' PRs even where steps cannot be sandboxed (env WORKSPACE_BOT_ALLOW_UNSANDBOXED)")
	fs.BoolVar(&o.AllowUnlimited, "allow-unlimited", false, "build untrusted forks' PRs even where their steps cannot get memory and process limits (env WORKSPACE_BOT_ALLOW_UNLIMITED)")
	cli.Checked(fs, &o.DiskReserve, "disk-reserve", "64MB", "size", "free space on the data dir's disk that run logs never take, kept for webhook deliveries; a run whose log reaches it fails (env WORKSPACE_BOT_DISK_RESERVE)", cli.Size(0))
	cli.Checked(fs, &o.Executor, "executor", "", "string", "where runs are built: local (on this machine) or actions (a workflow_dispatch of --executor-workflow in the workspace repository per run); default [workspace.bot].executor, else local (env WORKSPACE_BOT_EXECUTOR)", cli.OneOf(server.ExecutorLocal, server.ExecutorActions))
	cli.Checked(fs, &o.ExecutorWorkflow, "executor-workflow", bot.DefaultWorkflow, "file", "with --executor actions: the workflow file in the workspace repository's .github/workflows that builds a run (env WORKSPACE_BOT_EXECUTOR_WORKFLOW)", cli.WorkflowFile)
	cli.Checked(fs, &o.ExecutorRunsOn, "executor-runs-on", "", "labels", "with --executor actions: the runner labels the job asks for, one label or a JSON list such as '[\"self-hosted\",\"linux\"]', passed as the runs-on input; default the workflow's (env WORKSPACE_BOT_EXECUTOR_RUNS_ON)", cli.RunnerLabels)
	cli.DurationRange(fs, &o.ExecutorStartDeadline, "executor-start-deadline", bot.DefaultStartDeadline, time.Second, 24*time.Hour, "with --executor actions: how long a dispatched job may take to start before the run is dispatched again, then reported as an error (env WORKSPACE_BOT_EXECUTOR_START_DEADLINE)")
	fs.BoolVar(&o.CheckConfig, "check-config", false, "check what a start would meet (webhook secret, flags, GitHub credentials, data dir, database, GitHub itself, workspace config), one line each, and start nothing; exit 0 when all pass, 2 otherwise")
	if code, ok := cli.ParseEnv(fs, args, getenv); !ok {
		return nil, code, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve takes no arguments, got %q\n", fs.Args())
		return nil, exitUsage, false
	}
	return o, exitOK, true
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, code, ok := parseServeFlags(args, getenv, stderr)
	if !ok {
		return code
	}
	if o.CheckConfig {
		if !server.WriteChecks(stdout, server.CheckConfig(ctx, o)) {
			return exitUsage
		}
		return exitOK
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
