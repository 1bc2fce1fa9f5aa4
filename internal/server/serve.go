package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/cgroup"
	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/logging"
	"github.com/provide-io/workspace-bot/webhook"
	"github.com/provide-io/workspace-bot/workspace"
)

// Bounds of serve's flags.
const (
	MaxWorkers        = 64
	MaxCoalesceWindow = 10 * time.Minute
	// MinInFlight is what --max-in-flight must hold at least: a body is
	// read into a buffer that doubles, and both are counted while it
	// grows, so twice the largest delivery always fits.
	MinInFlight = 2 * webhook.MaxBody
)

// ServeOptions are what `workspace-bot serve` is started with: its flags,
// each with a WORKSPACE_BOT_* variable, checked by Validate.
type ServeOptions struct {
	Listen            string
	WebhookSecret     string
	WebhookSecretFile string
	GitHub            cli.GitHubFlags
	Config            string
	WorkspaceRepo     string
	DataDir           string
	Database          string
	ReplicaLease      time.Duration
	Workers           int
	PublicURL         string
	LogFormat         string
	LogLevel          string
	CoalesceWindow    time.Duration
	ShutdownGrace     time.Duration
	MaxInFlight       string
	BuildUser         string
	AllowUnsandboxed  bool
	AllowUnlimited    bool
	DiskReserve       string
	// Executor, ExecutorWorkflow, ExecutorRunsOn and ExecutorStartDeadline
	// say where runs are built (Options.Executor, bot.ActionsOptions).
	Executor              string
	ExecutorWorkflow      string
	ExecutorRunsOn        string
	ExecutorStartDeadline time.Duration
	// CheckConfig checks what a start would meet, says so one line a
	// check, and starts nothing (CheckConfig).
	CheckConfig bool

	// Handed are the credentials the process was handed at start
	// (secretenv), censored like the others.
	Handed []string

	// Filled by Validate: the secret read, the GitHub client's options and
	// the sizes parsed.
	Secret           []byte
	GitHubOptions    ghclient.Options
	MaxInFlightBytes int64
	DiskReserveBytes int64
}

// Validate checks the options and reads the secrets. Its errors name the
// flag and the fix, never a secret's value.
func (o *ServeOptions) Validate() error {
	if err := o.readSecret(); err != nil {
		return err
	}
	if err := o.settle(); err != nil {
		return err
	}
	return o.gitHubOptions()
}

// readSecret reads the webhook secret from its flag or file.
func (o *ServeOptions) readSecret() error {
	switch {
	case o.WebhookSecret != "" && o.WebhookSecretFile != "":
		return errors.New("give the webhook secret once: --webhook-secret or --webhook-secret-file, not both")
	case o.WebhookSecretFile != "":
		data, err := os.ReadFile(o.WebhookSecretFile)
		if err != nil {
			return fmt.Errorf("--webhook-secret-file: cannot read %s: %w", o.WebhookSecretFile, errors.Unwrap(err))
		}
		o.Secret = bytes.TrimSpace(data)
	default:
		o.Secret = []byte(o.WebhookSecret)
	}
	if len(o.Secret) == 0 {
		return errors.New("no webhook secret: set --webhook-secret, WORKSPACE_BOT_WEBHOOK_SECRET or WORKSPACE_BOT_WEBHOOK_SECRET_FILE " +
			"to the secret configured on the GitHub webhook (without one, unsigned requests would be accepted)")
	}
	return nil
}

// settle checks the flags that are wrong only together and turns the
// rest into what the service takes.
func (o *ServeOptions) settle() error {
	if o.Config != "" && o.WorkspaceRepo != "" {
		return errors.New("give --config (a local wrknv.toml) or --workspace-repo (read it from GitHub), not both")
	}
	// Each value was checked as its flag or variable was parsed; these
	// are what the service takes them as.
	n, err := workspace.ParseSize(o.MaxInFlight)
	if err != nil || n < MinInFlight {
		return fmt.Errorf("--max-in-flight %q: %w", o.MaxInFlight, cli.Size(MinInFlight)(o.MaxInFlight))
	}
	o.MaxInFlightBytes = n
	if o.DiskReserveBytes, err = workspace.ParseSize(o.DiskReserve); err != nil {
		return fmt.Errorf("--disk-reserve %q: %w", o.DiskReserve, err)
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
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	return nil
}

// gitHubOptions reads the GitHub credentials into the client's options.
func (o *ServeOptions) gitHubOptions() error {
	g, err := o.GitHub.Options(o.DataDir)
	if err != nil {
		return err
	}
	o.GitHubOptions = g
	return nil
}

// ConfigSpec is what the service reads its config from: a local file or owner/repo:path.
func (o *ServeOptions) ConfigSpec() string {
	if o.WorkspaceRepo != "" {
		return o.WorkspaceRepo + ":" + workspace.DefaultFileName
	}
	return o.Config
}

// hidden are the files holding credentials, which no build step may read.
func (o *ServeOptions) hidden() []string {
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

// Secrets are the values the logs must never show.
func (o *ServeOptions) Secrets() []string {
	out := append([]string{string(o.Secret), o.GitHubOptions.Token}, o.Handed...)
	if u, err := url.Parse(o.Database); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p)
		}
	}
	for _, line := range strings.Split(string(o.GitHubOptions.AppPrivateKey), "\n") {
		if len(strings.TrimSpace(line)) > 16 && !strings.HasPrefix(line, "-----") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// Serve runs the service o describes until ctx ends; Validate o first.
func Serve(ctx context.Context, o *ServeOptions, log *logrus.Logger) error {
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return fmt.Errorf("create --data-dir %s: %w", o.DataDir, err)
	}
	srv, err := New(ctx, Options{
		BotOptions: BotOptions{GitHub: o.GitHubOptions, Config: o.ConfigSpec(), DataDir: o.DataDir, StorePath: o.Database, Lease: o.ReplicaLease, PublicURL: o.PublicURL, Log: log,
			Secrets: o.Secrets(), BuildUser: o.BuildUser, Hide: o.hidden(), AllowUnsandboxed: o.AllowUnsandboxed, DiskReserve: o.DiskReserveBytes,
			Confine: true, AllowUnlimited: o.AllowUnlimited},
		Secret: o.Secret, Workers: o.Workers, CoalesceWindow: o.CoalesceWindow, MaxInFlight: o.MaxInFlightBytes,
		Executor: o.Executor,
		Actions: bot.ActionsOptions{Repo: o.WorkspaceRepo, Workflow: o.ExecutorWorkflow, RunsOn: o.ExecutorRunsOn,
			StartDeadline: o.ExecutorStartDeadline},
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return UsageError{Err: fmt.Errorf("--listen %s: %w", o.Listen, err)}
	}
	LogSandbox(log, ci.SandboxAvailable(), o.AllowUnsandboxed)
	LogBuildUser(log, o.BuildUser, os.Geteuid() == 0, ci.SandboxAvailable() == nil)
	LogLimits(log, ci.LimitsAvailable(), o.AllowUnlimited)
	limit := LimitMemory(o.MaxInFlightBytes, os.Getenv)
	log.WithFields(logrus.Fields{logging.Addr: ln.Addr().String(), logging.PublicURL: o.PublicURL, logging.Workers: o.Workers, logging.App: srv.App,
		logging.InFlight: o.MaxInFlightBytes, logging.MemoryLimit: limit}).Info("workspace-bot serving")
	return srv.Serve(ctx, ln, o.ShutdownGrace)
}

// LogSandbox says in one line at start-up how build steps will run.
func LogSandbox(log logrus.FieldLogger, unavailable error, allowUnsandboxed bool) {
	switch {
	case unavailable == nil:
		log.Info("build steps run in a sandbox: PID and mount namespaces, a fresh /proc, the data dir hidden")
	case allowUnsandboxed:
		log.WithError(unavailable).Warn("build steps run without a sandbox, untrusted forks' included (--allow-unsandboxed): they can see this service's processes and files")
	default:
		log.WithError(unavailable).Warn("build steps run without a sandbox; builds of untrusted forks' PRs are refused (they fail with an error) unless serve is given --allow-unsandboxed")
	}
}

// LogBuildUser says in one line at start-up whom build steps run as.
func LogBuildUser(log logrus.FieldLogger, buildUser string, root, sandboxed bool) {
	switch {
	case buildUser == "root" || buildUser == "0":
		log.Warn("build steps run as root (--build-user root): an approved fork's code can read every file root can read outside the data dir; leave --build-user out to run them as a throwaway uid")
	case buildUser != "":
		log.WithField(logging.User, buildUser).Info("build steps run as the build user (--build-user)")
	case root && sandboxed:
		log.WithField(logging.User, ci.ThrowawayUID).Info("build steps run as a throwaway uid that owns nothing on this machine, the build root handed to it for each step")
	case root:
		log.Warn("build steps run as root: without a sandbox there is no throwaway uid; give --build-user an unprivileged user")
	}
}

// LogLimits says in one line at start-up whether each run's steps get a
// cgroup with memory and process limits.
func LogLimits(log logrus.FieldLogger, unavailable error, allowUnlimited bool) {
	switch {
	case unavailable == nil:
		l := cgroup.Defaults()
		log.WithFields(logrus.Fields{logging.Memory: l.Memory, logging.Pids: l.Pids}).Info("each run's steps get a cgroup of their own with memory and process limits ([workspace.ci].limits, or these defaults)")
	case allowUnlimited:
		log.WithError(unavailable).Warn("build steps run without resource limits, untrusted forks' included (--allow-unlimited): one can take the machine's memory and processes")
	default:
		log.WithError(unavailable).Warn("build steps run without resource limits; builds of untrusted forks' PRs are refused (they fail with an error) unless serve is given --allow-unlimited")
	}
}
