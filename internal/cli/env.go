package cli

import (
	"fmt"
	"slices"

	"github.com/spf13/pflag"

	"github.com/provide-io/workspace-bot/internal/exitcode"
	"github.com/provide-io/workspace-bot/internal/ghclient"
)

// EnvVar is a flag that an environment variable can set, in every command
// that has the flag.
type EnvVar struct {
	Flag string
	// Vars are read in order; the first that is set wins.
	Vars []string
	// Secret values are never printed, not even in an error about them.
	Secret bool
	// Unless names a flag that, once it has a value, makes this one's
	// variables unread: a token given on the command line, or a token
	// file, is not joined by another from the environment.
	Unless string
}

// Env is every flag an environment variable sets, in the order they are
// applied (a file before the secret it stands in for). It is the one
// list: ApplyEnv reads it, and a test gives each variable a bad value.
var Env = []EnvVar{
	{Flag: "listen", Vars: []string{"WORKSPACE_BOT_LISTEN"}},
	{Flag: "webhook-secret-file", Vars: []string{"WORKSPACE_BOT_WEBHOOK_SECRET_FILE"}, Unless: "webhook-secret"},
	{Flag: "webhook-secret", Vars: []string{"WORKSPACE_BOT_WEBHOOK_SECRET"}, Secret: true, Unless: "webhook-secret-file"},
	{Flag: "github-api-url", Vars: []string{"WORKSPACE_BOT_GITHUB_API_URL", "GITHUB_API_URL"}},
	{Flag: "github-token-file", Vars: []string{"WORKSPACE_BOT_GITHUB_TOKEN_FILE"}, Unless: "github-token"},
	{Flag: "github-token", Vars: []string{"WORKSPACE_BOT_GITHUB_TOKEN", "GITHUB_TOKEN"}, Secret: true, Unless: "github-token-file"},
	{Flag: "app-id", Vars: []string{"WORKSPACE_BOT_APP_ID"}},
	{Flag: "app-private-key", Vars: []string{"WORKSPACE_BOT_APP_PRIVATE_KEY"}, Secret: true},
	{Flag: "config", Vars: []string{"WORKSPACE_BOT_CONFIG"}},
	{Flag: "workspace-repo", Vars: []string{"WORKSPACE_BOT_WORKSPACE_REPO"}},
	{Flag: "data-dir", Vars: []string{"WORKSPACE_BOT_DATA_DIR"}},
	{Flag: "database", Vars: []string{"WORKSPACE_BOT_DATABASE"}, Secret: true},
	{Flag: "replica-lease", Vars: []string{"WORKSPACE_BOT_REPLICA_LEASE"}},
	{Flag: "workers", Vars: []string{"WORKSPACE_BOT_WORKERS"}},
	{Flag: "public-url", Vars: []string{"WORKSPACE_BOT_PUBLIC_URL"}},
	{Flag: "log-format", Vars: []string{"WORKSPACE_BOT_LOG_FORMAT"}},
	{Flag: "log-level", Vars: []string{"WORKSPACE_BOT_LOG_LEVEL"}},
	{Flag: "coalesce-window", Vars: []string{"WORKSPACE_BOT_COALESCE_WINDOW"}},
	{Flag: "shutdown-grace", Vars: []string{"WORKSPACE_BOT_SHUTDOWN_GRACE"}},
	{Flag: "max-in-flight", Vars: []string{"WORKSPACE_BOT_MAX_IN_FLIGHT"}},
	{Flag: "build-user", Vars: []string{"WORKSPACE_BOT_BUILD_USER"}},
	{Flag: "allow-unsandboxed", Vars: []string{"WORKSPACE_BOT_ALLOW_UNSANDBOXED"}},
	{Flag: "allow-unlimited", Vars: []string{"WORKSPACE_BOT_ALLOW_UNLIMITED"}},
	{Flag: "disk-reserve", Vars: []string{"WORKSPACE_BOT_DISK_RESERVE"}},
	{Flag: "executor", Vars: []string{"WORKSPACE_BOT_EXECUTOR"}},
	{Flag: "executor-workflow", Vars: []string{"WORKSPACE_BOT_EXECUTOR_WORKFLOW"}},
	{Flag: "executor-runs-on", Vars: []string{"WORKSPACE_BOT_EXECUTOR_RUNS_ON"}},
	{Flag: "executor-start-deadline", Vars: []string{"WORKSPACE_BOT_EXECUTOR_START_DEADLINE"}},
	{Flag: "command", Vars: []string{"WORKSPACE_BOT_COMMAND"}},
}

// secretFlag says whether a flag's value is a secret.
func secretFlag(name string) bool {
	for _, e := range Env {
		if e.Flag == name {
			return e.Secret
		}
	}
	return false
}

// EnvError is a variable whose value its flag refuses.
type EnvError struct {
	Var, Value, Flag string
	Secret           bool
	Err              error
}

func (e *EnvError) Error() string {
	if e.Secret {
		return fmt.Sprintf("%s: %s (the same as --%s)", e.Var, e.Err, e.Flag)
	}
	return fmt.Sprintf("%s=%q: %s (the same as --%s)", e.Var, ghclient.RedactURL(e.Value), e.Err, e.Flag)
}

func (e *EnvError) Unwrap() error { return e.Err }

// ApplyEnv sets every flag of fs that the command line left unset from
// its variable, through the flag's own parser, so a value that would be
// refused as --flag is refused from the environment too. The flag is
// not marked changed: code asking whether the user typed it still gets
// no. Values are applied after parsing, so --help never shows one.
func ApplyEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	return ApplyEnvFor(fs, getenv)
}

// ApplyEnvFor is ApplyEnv for the named flags only (none named: all),
// for a command whose other flags mean something else than serve's.
func ApplyEnvFor(fs *pflag.FlagSet, getenv func(string) string, flags ...string) error {
	for _, e := range Env {
		if len(flags) > 0 && !slices.Contains(flags, e.Flag) {
			continue
		}
		f := fs.Lookup(e.Flag)
		if f == nil || f.Changed {
			continue
		}
		if e.Unless != "" {
			if u := fs.Lookup(e.Unless); u != nil && u.Value.String() != "" {
				continue
			}
		}
		for _, name := range e.Vars {
			v := getenv(name)
			if v == "" {
				continue
			}
			if err := f.Value.Set(v); err != nil {
				return &EnvError{Var: name, Value: v, Flag: e.Flag, Secret: e.Secret, Err: want(f.Value, err)}
			}
			break
		}
	}
	return nil
}

// want says what pflag's own values take, in place of strconv's words.
func want(v pflag.Value, err error) error {
	if _, ours := v.(interface{ saysWhatItTakes() }); ours {
		return err
	}
	switch v.Type() {
	case "int", "int64":
		return fmt.Errorf("want a whole number, such as 4")
	case "duration":
		return fmt.Errorf("want a duration, such as 500ms, 2s or 1m")
	case "bool":
		return fmt.Errorf("want true or false")
	}
	return err
}

// ParseEnv parses args as Parse does, then applies the environment; ok is
// false with the exit code when the command should stop. A bad variable
// is one line on stderr naming it, its value (unless secret) and what it
// takes.
func ParseEnv(fs *pflag.FlagSet, args []string, getenv func(string) string) (code int, ok bool) {
	if code, ok := Parse(fs, args); !ok {
		return code, false
	}
	return ApplyEnvOK(fs, getenv)
}

// ApplyEnvOK is ApplyEnv for a command that parsed its flags itself: a
// bad variable is said on the flag set's output, with exit 2.
func ApplyEnvOK(fs *pflag.FlagSet, getenv func(string) string) (code int, ok bool) {
	if err := ApplyEnv(fs, getenv); err != nil {
		fmt.Fprintf(fs.Output(), "error: %s\n", err)
		return exitcode.Usage, false
	}
	return 0, true
}
