// Package gitrun is the one way the service runs git, for ci and release
// alike. Every call gets an environment built for it (never a copy of the
// service's, which holds tokens), ignores hooks and fsmonitor commands
// whatever a repository's config says, runs in a process group of its own
// that dies with the call or with the service, and fails with an *Error
// that never shows credentials.
package gitrun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/provide-io/workspace-bot/internal/gitauth"
)

// Config says whose git configuration a call reads.
type Config int

const (
	// Hermetic reads no system or global config, so results do not depend
	// on the machine, and commits are by workspace-bot.
	Hermetic Config = iota
	// UserConfig reads the user's global config too (credential helpers,
	// ssh settings): pushing as the person running the command.
	UserConfig
)

// Name and Email are who commits made with a Hermetic environment are by.
const (
	Name  = "workspace-bot"
	Email = "workspace-bot@localhost"
)

// guard goes before every command: hooks and fsmonitor are programs a
// repository's config or a build step can name, and git must run neither
// (a step that plants hooks/reference-transaction in a mirror would
// otherwise run it, with the service's privileges, on the next fetch).
// /dev/null can never hold a hook: it is not a directory.
var guard = []string{"-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"}

// passed are the variables of the service's environment that git children
// get: where programs are, who and where the user is (ssh reads ~/.ssh),
// the ssh agent, proxies and certificates. Nothing else: the service's
// environment holds tokens and webhook secrets.
var passed = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "TMPDIR": true, "TZ": true,
	"SSH_AUTH_SOCK": true, "GIT_SSH": true, "GIT_SSH_COMMAND": true,
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "ALL_PROXY": true,
	"http_proxy": true, "https_proxy": true, "no_proxy": true, "all_proxy": true,
	"SSL_CERT_FILE": true, "SSL_CERT_DIR": true, "GIT_SSL_CAINFO": true, "GIT_SSL_CAPATH": true,
}

// Env builds the environment for a git call: the passed variables of the
// service's environment, no prompts (a missing credential fails instead of
// hanging), the C locale (messages are parsed), then extra (later entries
// win, so extra can override the identity).
func Env(config Config, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if passed[k] {
			env = append(env, kv)
		}
	}
	env = append(env, "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true", "LC_ALL=C")
	if config == Hermetic {
		env = append(env, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
			"GIT_AUTHOR_NAME="+Name, "GIT_AUTHOR_EMAIL="+Email,
			"GIT_COMMITTER_NAME="+Name, "GIT_COMMITTER_EMAIL="+Email)
	}
	return append(env, extra...)
}

// Error is a git command that failed, with its stderr. Its message never
// holds credentials: URLs are shown without userinfo.
type Error struct {
	Args   []string
	Dir    string
	Stderr string
	Err    error
}

func (e *Error) Error() string {
	args := make([]string, len(e.Args))
	for i, a := range e.Args {
		args[i] = gitauth.Redact(a)
	}
	msg := "git " + strings.Join(args, " ")
	if e.Dir != "" {
		msg += " (in " + e.Dir + ")"
	}
	msg += fmt.Sprintf(": %v", e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + gitauth.RedactText(lastLines(s, 5))
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// waitDelay bounds how long a call's output is still read after git
// exited or was killed, for a helper that outlived it yet holds the pipe.
const waitDelay = 2 * time.Second

// Run runs git with args in dir with the whole environment env (nil:
// Env(Hermetic)) and stdin (nil: none), and returns its stdout. When ctx
// ends, git and every helper it started (transports, ssh) are killed.
func Run(ctx context.Context, dir string, env []string, stdin []byte, args ...string) ([]byte, error) {
	if env == nil {
		env = Env(Hermetic)
	}
	cmd := exec.CommandContext(ctx, "git", append(guard[:len(guard):len(guard)], args...)...)
	cmd.Dir = dir
	cmd.Env = env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = groupAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &Error{Args: args, Dir: dir, Stderr: errb.String(), Err: err}
	}
	return out.Bytes(), nil
}

// Output runs a Hermetic git command and returns its trimmed stdout.
func Output(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := Run(ctx, dir, nil, nil, args...)
	return strings.TrimSpace(string(out)), err
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
