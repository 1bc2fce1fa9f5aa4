package ci

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/provide-io/workspace-bot/internal/gitauth"
)

// gitEnv is the environment for every git command the runner itself runs:
// no prompts (a missing credential fails instead of hanging), no system or
// global config (so results do not depend on the machine), a fixed
// identity for merge commits, and none of the variables that would point
// git at another repository.
var gitEnv = func() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
			"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS",
			"GIT_CONFIG_COUNT", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "LANG", "LC_ALL":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=true",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=workspace-bot", "GIT_AUTHOR_EMAIL=workspace-bot@localhost",
		"GIT_COMMITTER_NAME=workspace-bot", "GIT_COMMITTER_EMAIL=workspace-bot@localhost",
		"LC_ALL=C",
	)
}()

// GitError is a git command that failed, with its stderr. Its message
// never holds credentials: URLs are shown without userinfo.
type GitError struct {
	Args   []string
	Dir    string
	Stderr string
	Err    error
}

func (e *GitError) Error() string {
	args := make([]string, len(e.Args))
	for i, a := range e.Args {
		args[i] = gitauth.Redact(a)
	}
	msg := fmt.Sprintf("git %s: %v", strings.Join(args, " "), e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + gitauth.RedactText(lastLines(s, 5))
	}
	return msg
}

func (e *GitError) Unwrap() error { return e.Err }

// git runs git in dir and returns its trimmed stdout. It runs in a process
// group of its own, so cancelling also ends the transport helpers it starts.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	return gitWithEnv(ctx, dir, nil, args...)
}

// gitWithEnv is git with extra environment (credentials for one fetch).
func gitWithEnv(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	err := runProc(ctx, dir, append(gitEnv[:len(gitEnv):len(gitEnv)], env...), &out, &errb, "git", args...)
	if err != nil {
		return "", &GitError{Args: args, Dir: dir, Stderr: errb.String(), Err: err}
	}
	return strings.TrimSpace(out.String()), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
