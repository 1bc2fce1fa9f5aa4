package release

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/provide-io/workspace-bot/internal/gitauth"
)

// Identity is who release commits are by.
const (
	authorName  = "workspace-bot"
	authorEmail = "workspace-bot@users.noreply.github.com"
)

// baseEnv drops the variables that would point git at another repository
// and never lets it prompt: a missing credential fails instead of hanging.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
			"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "LC_ALL",
			"GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
}

// plumbingEnv is for reading and writing objects: no user or system
// config, so a signing or hook setting on the machine cannot change what
// is committed.
func plumbingEnv(extra ...string) []string {
	return append(append(baseEnv(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"), extra...)
}

// gitError is a failed git command; its message never holds credentials.
type gitError struct {
	args   []string
	dir    string
	stderr string
	err    error
}

func (e *gitError) Error() string {
	args := make([]string, len(e.args))
	for i, a := range e.args {
		args[i] = gitauth.Redact(a)
	}
	msg := fmt.Sprintf("git %s (in %s): %v", strings.Join(args, " "), e.dir, e.err)
	if s := strings.TrimSpace(e.stderr); s != "" {
		msg += ": " + gitauth.RedactText(s)
	}
	return msg
}

func (e *gitError) Unwrap() error { return e.err }

// run runs git in dir with env and stdin, returning stdout untrimmed.
func run(ctx context.Context, dir string, env []string, stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, &gitError{args: args, dir: dir, stderr: errb.String(), err: err}
	}
	return out.Bytes(), nil
}

// git runs a plumbing command and returns its trimmed stdout.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := run(ctx, dir, plumbingEnv(), nil, args...)
	return strings.TrimSpace(string(out)), err
}
