package main

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/cli"
)

// Every variable in cli.Env, given a value its flag refuses, stops the
// command with exit 2 and one line naming the variable, the value (never
// a secret's) and what it takes: the words --flag gets for that value.
// A variable added to cli.Env without a case here fails the test.
func TestBadEnvironmentVariables(t *testing.T) {
	aFile := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(aFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	cases := map[string]struct {
		command []string
		value   string
		want    string
	}{
		"WORKSPACE_BOT_LISTEN":                  {[]string{"serve"}, "8080", "want host:port, such as 127.0.0.1:8080 or :8080"},
		"WORKSPACE_BOT_WEBHOOK_SECRET_FILE":     {[]string{"serve"}, missing, "cannot read it: no such file or directory"},
		"WORKSPACE_BOT_WEBHOOK_SECRET":          {[]string{"serve"}, "hush\nhush", "has a line break or a control character"},
		"WORKSPACE_BOT_GITHUB_API_URL":          {[]string{"serve"}, "api.github.com", "use an http(s) URL such as https://api.github.com/"},
		"GITHUB_API_URL":                        {[]string{"changeset"}, "api.github.com", "use an http(s) URL such as https://api.github.com/"},
		"WORKSPACE_BOT_GITHUB_TOKEN_FILE":       {[]string{"test"}, missing, "cannot read it: no such file or directory"},
		"WORKSPACE_BOT_GITHUB_TOKEN":            {[]string{"serve"}, "token ghp_hush0123", "starts with a scheme word (token or Bearer): give the token alone"},
		"GITHUB_TOKEN":                          {[]string{"release", "plan"}, "ghp_hush 0123", "has a space, a line break"},
		"WORKSPACE_BOT_APP_ID":                  {[]string{"serve"}, "my-app", "want the App's numeric id"},
		"WORKSPACE_BOT_APP_PRIVATE_KEY":         {[]string{"serve"}, "MIIEhush0123", "neither a PEM key nor a readable file"},
		"WORKSPACE_BOT_CONFIG":                  {[]string{"validate"}, missing, "file not found: name wrknv.toml or its directory"},
		"WORKSPACE_BOT_WORKSPACE_REPO":          {[]string{"serve"}, "provide-workspace", "want owner/repo"},
		"WORKSPACE_BOT_DATA_DIR":                {[]string{"serve"}, aFile, "is a file, not a directory"},
		"WORKSPACE_BOT_WORKERS":                 {[]string{"serve"}, "abc", "want a whole number from 1 to 64, such as 4"},
		"WORKSPACE_BOT_PUBLIC_URL":              {[]string{"serve"}, "bot.example.com", "want an http or https URL"},
		"WORKSPACE_BOT_LOG_FORMAT":              {[]string{"serve"}, "xml", "want json or text"},
		"WORKSPACE_BOT_LOG_LEVEL":               {[]string{"serve"}, "loud", "want debug, info, warn or error"},
		"WORKSPACE_BOT_COALESCE_WINDOW":         {[]string{"serve"}, "5", "want a duration with its unit, such as 500ms, 2s or 1m"},
		"WORKSPACE_BOT_SHUTDOWN_GRACE":          {[]string{"serve"}, "-5s", "want a duration of at least 0s"},
		"WORKSPACE_BOT_MAX_IN_FLIGHT":           {[]string{"serve"}, "1MB", "want a size of at least 50MB"},
		"WORKSPACE_BOT_BUILD_USER":              {[]string{"test"}, "no-such-user-7c1", "no such user"},
		"WORKSPACE_BOT_ALLOW_UNSANDBOXED":       {[]string{"serve"}, "yes", "want true or false"},
		"WORKSPACE_BOT_ALLOW_UNLIMITED":         {[]string{"serve"}, "maybe", "want true or false"},
		"WORKSPACE_BOT_DISK_RESERVE":            {[]string{"serve"}, "lots", "want a size, such as 64MB"},
		"WORKSPACE_BOT_EXECUTOR":                {[]string{"serve"}, "k8s", "want local or actions"},
		"WORKSPACE_BOT_EXECUTOR_WORKFLOW":       {[]string{"serve"}, "../x.yml", "want a workflow file name such as workspace-run.yml"},
		"WORKSPACE_BOT_EXECUTOR_RUNS_ON":        {[]string{"serve"}, "linux,x64", "want one runner label, or a JSON list of labels"},
		"WORKSPACE_BOT_EXECUTOR_START_DEADLINE": {[]string{"serve"}, "soon", "want a duration with its unit"},
		"WORKSPACE_BOT_COMMAND":                 {[]string{"action"}, "deploy", "want auto, test or validate"},
	}
	for _, e := range cli.Env {
		for _, name := range e.Vars {
			c, ok := cases[name]
			if !ok {
				t.Errorf("%s (--%s) has no bad value here: add one", name, e.Flag)
				continue
			}
			delete(cases, name)
			t.Run(name, func(t *testing.T) {
				for _, e := range cli.Env {
					for _, v := range e.Vars {
						t.Setenv(v, "")
					}
				}
				t.Setenv(name, c.value)
				code, stdout, stderr := runCmd(t, c.command...)
				line := name + "=" + strconv.Quote(c.value) + ": " + c.want
				if e.Secret {
					line = name + ": " + c.want
					if strings.Contains(stdout+stderr, c.value) || strings.Contains(stdout+stderr, "hush") {
						t.Errorf("a secret's value was printed:\n%s%s", stdout, stderr)
					}
				}
				if code != exitUsage || !strings.Contains(stdout+stderr, line) || !strings.Contains(stdout+stderr, "(the same as --"+e.Flag+")") {
					t.Errorf("exit %d, want %d and a line with\n%s\n(the same as --%s)\n--- stdout\n%s--- stderr\n%s", code, exitUsage, line, e.Flag, stdout, stderr)
				}
				// The flag's own parser said it: --flag with that value
				// gets the same words.
				t.Setenv(name, "")
				args := append(append([]string{}, c.command...), "--"+e.Flag+"="+c.value)
				code, stdout, stderr = runCmd(t, args...)
				if code != exitUsage || !strings.Contains(stderr, c.want) {
					t.Errorf("--%s=%q: exit %d, want %d and %q:\n%s%s", e.Flag, c.value, code, exitUsage, c.want, stdout, stderr)
				}
				if e.Secret && strings.Contains(stdout+stderr, "hush") {
					t.Errorf("a secret given as --%s was printed:\n%s%s", e.Flag, stdout, stderr)
				}
			})
		}
	}
	for name := range cases {
		t.Errorf("%s is tested here but is not in cli.Env", name)
	}
}

// WORKSPACE_BOT_SECRETS_FD is not a setting: serve and action set it for
// themselves when they re-execute. Set from outside, it is a usage error
// naming it and its value.
func TestSecretsFDFromOutside(t *testing.T) {
	t.Parallel()
	for _, command := range []string{"serve", "action"} {
		cmd := exec.Command(actionBinary(t), command)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "WORKSPACE_BOT_SECRETS_FD=abc"}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitUsage ||
			!strings.Contains(string(out), `WORKSPACE_BOT_SECRETS_FD="abc": workspace-bot sets this for itself; unset it`) {
			t.Errorf("%s: %v\n%s", command, err, out)
		}
	}
}

// Every WORKSPACE_BOT_* name the code mentions is in cli.Env, so
// TestBadEnvironmentVariables covers it, or is the one the program sets
// for itself.
func TestEveryVariableIsInTheList(t *testing.T) {
	known := map[string]bool{"WORKSPACE_BOT_SECRETS_FD": true,
		// run-job's token: a credential taken only from the environment,
		// never a flag (TestRunJobRefusesBadInput).
		"WORKSPACE_BOT_RUN_TOKEN": true}
	for _, e := range cli.Env {
		for _, v := range e.Vars {
			known[v] = true
		}
	}
	re := regexp.MustCompile(`WORKSPACE_BOT_[A-Z][A-Z_]*[A-Z]`)
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, name := range re.FindAllString(string(src), -1) {
			if !known[name] {
				t.Errorf("%s reads %s, which is not in cli.Env: add it there, with a bad value in TestBadEnvironmentVariables", path, name)
				known[name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
