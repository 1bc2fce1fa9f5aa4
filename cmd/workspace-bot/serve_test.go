package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/provide-io/workspace-bot/internal/sandbox"
	"github.com/provide-io/workspace-bot/internal/server"
)

func TestServeOptions(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	configFile := filepath.Join(t.TempDir(), "wrknv.toml")
	if err := os.WriteFile(configFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"--github-token", "tok-9f8e7d", "--data-dir", t.TempDir()}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(t *testing.T, o *server.ServeOptions)
		wantErr string
	}{
		{name: "defaults", env: map[string]string{"WORKSPACE_BOT_WEBHOOK_SECRET": "s3cret"}, check: func(t *testing.T, o *server.ServeOptions) {
			if o.Listen != "127.0.0.1:8080" || o.Workers != 2 || o.CoalesceWindow != 2*time.Second || o.LogFormat != "json" ||
				o.PublicURL != "http://127.0.0.1:8080" || string(o.Secret) != "s3cret" || o.GitHubOptions.Token != "tok-9f8e7d" || o.ShutdownGrace != 30*time.Second || o.MaxInFlightBytes != 64<<20 || o.DiskReserveBytes != 64<<20 {
				t.Errorf("options %+v", o)
			}
		}},
		{name: "env for every flag", env: map[string]string{
			"WORKSPACE_BOT_WEBHOOK_SECRET_FILE": secretFile, "WORKSPACE_BOT_LISTEN": ":9000", "WORKSPACE_BOT_WORKERS": "4",
			"WORKSPACE_BOT_PUBLIC_URL": "https://bot.example/", "WORKSPACE_BOT_LOG_FORMAT": "text", "WORKSPACE_BOT_LOG_LEVEL": "debug",
			"WORKSPACE_BOT_COALESCE_WINDOW": "500ms", "WORKSPACE_BOT_WORKSPACE_REPO": "acme/ws", "WORKSPACE_BOT_SHUTDOWN_GRACE": "5s",
		}, check: func(t *testing.T, o *server.ServeOptions) {
			if o.Listen != ":9000" || o.Workers != 4 || o.PublicURL != "https://bot.example" || o.LogFormat != "text" || o.LogLevel != "debug" ||
				o.CoalesceWindow != 500*time.Millisecond || o.ConfigSpec() != "acme/ws:wrknv.toml" || string(o.Secret) != "from-file" || o.ShutdownGrace != 5*time.Second {
				t.Errorf("options %+v", o)
			}
		}},
		{name: "flags win over env", env: map[string]string{"WORKSPACE_BOT_WORKERS": "4", "WORKSPACE_BOT_WEBHOOK_SECRET": "env"},
			args: []string{"--workers", "1", "--webhook-secret", "flag", "--listen", "0.0.0.0:7000", "--config", configFile},
			check: func(t *testing.T, o *server.ServeOptions) {
				if o.Workers != 1 || string(o.Secret) != "flag" || o.PublicURL != "http://127.0.0.1:7000" || o.ConfigSpec() != configFile {
					t.Errorf("options %+v", o)
				}
			}},
		{name: "no secret", wantErr: "no webhook secret"},
		{name: "two secrets", args: []string{"--webhook-secret", "a", "--webhook-secret-file", secretFile}, wantErr: "not both"},
		{name: "unreadable secret file", args: []string{"--webhook-secret-file", secretFile + ".missing"}, wantErr: "cannot read"},
		{name: "config and repo", args: []string{"--webhook-secret", "a", "--config", configFile, "--workspace-repo", "a/b"}, wantErr: "not both"},
		{name: "bad repo", args: []string{"--webhook-secret", "a", "--workspace-repo", "nope"}, wantErr: "owner/repo"},
		{name: "bad listen", args: []string{"--webhook-secret", "a", "--listen", "8080"}, wantErr: `--listen "8080": want host:port`},
		{name: "bad workers", args: []string{"--webhook-secret", "a", "--workers", "0"}, wantErr: `--workers "0": want a whole number from 1 to 64`},
		{name: "bad public url", args: []string{"--webhook-secret", "a", "--public-url", "bot.example"}, wantErr: "--public-url"},
		{name: "bad max in flight", args: []string{"--webhook-secret", "a", "--max-in-flight", "1MB"}, wantErr: `--max-in-flight "1MB": want a size of at least 50MB`},
		{name: "max in flight from env", env: map[string]string{"WORKSPACE_BOT_WEBHOOK_SECRET": "a", "WORKSPACE_BOT_MAX_IN_FLIGHT": "128MB"},
			check: func(t *testing.T, o *server.ServeOptions) {
				if o.MaxInFlightBytes != 128<<20 {
					t.Errorf("max in flight %d, want 128 MiB", o.MaxInFlightBytes)
				}
			}},
		{name: "bad disk reserve", args: []string{"--webhook-secret", "a", "--disk-reserve", "lots"}, wantErr: `--disk-reserve "lots": want a size, such as 64MB`},
		{name: "unknown build user", args: []string{"--webhook-secret", "a", "--build-user", "no-such-user-7c1"}, wantErr: `--build-user "no-such-user-7c1": no such user`},
		{name: "build user and unsandboxed from env", env: map[string]string{"WORKSPACE_BOT_WEBHOOK_SECRET": "a", "WORKSPACE_BOT_BUILD_USER": "nobody",
			"WORKSPACE_BOT_ALLOW_UNSANDBOXED": "true", "WORKSPACE_BOT_ALLOW_UNLIMITED": "1"},
			check: func(t *testing.T, o *server.ServeOptions) {
				if o.BuildUser != "nobody" || !o.AllowUnsandboxed || !o.AllowUnlimited {
					t.Errorf("build user %q, allow unsandboxed %v, allow unlimited %v", o.BuildUser, o.AllowUnsandboxed, o.AllowUnlimited)
				}
			}},
		{name: "bad log format", args: []string{"--webhook-secret", "a", "--log-format", "xml"}, wantErr: "json or text"},
		{name: "no github credentials", args: []string{"--webhook-secret", "a", "--github-token", ""}, env: map[string]string{"GITHUB_TOKEN": ""}, wantErr: "no credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"WORKSPACE_BOT_WEBHOOK_SECRET", "WORKSPACE_BOT_WEBHOOK_SECRET_FILE", "WORKSPACE_BOT_LISTEN", "WORKSPACE_BOT_WORKERS",
				"WORKSPACE_BOT_PUBLIC_URL", "WORKSPACE_BOT_LOG_FORMAT", "WORKSPACE_BOT_LOG_LEVEL", "WORKSPACE_BOT_COALESCE_WINDOW", "WORKSPACE_BOT_WORKSPACE_REPO",
				"WORKSPACE_BOT_CONFIG", "WORKSPACE_BOT_SHUTDOWN_GRACE", "WORKSPACE_BOT_GITHUB_TOKEN", "GITHUB_TOKEN", "WORKSPACE_BOT_APP_ID", "WORKSPACE_BOT_APP_PRIVATE_KEY", "GITHUB_API_URL"} {
				t.Setenv(k, "")
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append(append([]string{}, base...), tc.args...)
			// A value is refused as it is parsed, or by Validate when it
			// is wrong only beside another.
			var stderr bytes.Buffer
			var problem string
			o, code, ok := parseServeFlags(args, os.Getenv, &stderr)
			if !ok {
				if code != exitUsage {
					t.Fatalf("parse failed with %d", code)
				}
				problem = stderr.String()
			} else if err := o.Validate(); err != nil {
				problem = err.Error()
			}
			if tc.wantErr != "" {
				if !strings.Contains(problem, tc.wantErr) {
					t.Fatalf("error %q, want one containing %q", problem, tc.wantErr)
				}
				for _, s := range []string{"s3cret", "from-file", "tok-9f8e7d"} {
					if strings.Contains(problem, s) {
						t.Fatalf("error %q shows a secret", problem)
					}
				}
				return
			}
			if problem != "" {
				t.Fatal(problem)
			}
			tc.check(t, o)
		})
	}
}

func TestServeHelpShowsNoSecret(t *testing.T) {
	t.Setenv("WORKSPACE_BOT_WEBHOOK_SECRET", "hush-hush")
	var out bytes.Buffer
	if _, code, ok := parseServeFlags([]string{"--help"}, os.Getenv, &out); ok || code != exitOK {
		t.Fatalf("--help: ok %v code %d", ok, code)
	}
	if strings.Contains(out.String(), "hush-hush") || !strings.Contains(out.String(), "--webhook-secret") {
		t.Fatalf("help:\n%s", out.String())
	}
}

func TestServeRefusesToStartWithoutSecret(t *testing.T) {
	t.Setenv("WORKSPACE_BOT_WEBHOOK_SECRET", "")
	t.Setenv("WORKSPACE_BOT_WEBHOOK_SECRET_FILE", "")
	var stderr bytes.Buffer
	code := run(t.Context(), []string{"serve", "--github-token", "t", "--data-dir", t.TempDir()}, io.Discard, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "no webhook secret") {
		t.Fatalf("code %d, stderr %s", code, stderr.String())
	}
}

// TestServeSaysHowStepsRun: one line each at start, on the sandbox, the
// build user (a warning when steps are root on purpose, which
// --build-user root is) and the limits, naming the error when something
// is missing.
func TestServeSaysHowStepsRun(t *testing.T) {
	noNamespaces, noCgroups := errors.New("no namespaces here"), errors.New("no cgroups here")
	for _, tc := range []struct {
		name  string
		say   func(logrus.FieldLogger)
		level logrus.Level
		want  string
		err   error
	}{
		{"sandbox", func(l logrus.FieldLogger) { server.LogSandbox(l, nil, false) }, logrus.InfoLevel, "build steps run in a sandbox", nil},
		{"no sandbox, forks refused", func(l logrus.FieldLogger) { server.LogSandbox(l, noNamespaces, false) }, logrus.WarnLevel,
			"builds of untrusted forks' PRs are refused (they fail with an error) unless serve is given --allow-unsandboxed", noNamespaces},
		{"no sandbox, allowed", func(l logrus.FieldLogger) { server.LogSandbox(l, noNamespaces, true) }, logrus.WarnLevel, "untrusted forks' included (--allow-unsandboxed)", noNamespaces},
		{"throwaway", func(l logrus.FieldLogger) { server.LogBuildUser(l, "", true, true) }, logrus.InfoLevel, "throwaway uid", nil},
		{"root on purpose", func(l logrus.FieldLogger) { server.LogBuildUser(l, "root", true, true) }, logrus.WarnLevel, "as root (--build-user root)", nil},
		{"build user", func(l logrus.FieldLogger) { server.LogBuildUser(l, "nobody", true, true) }, logrus.InfoLevel, "as the build user", nil},
		{"root without a sandbox", func(l logrus.FieldLogger) { server.LogBuildUser(l, "", true, false) }, logrus.WarnLevel, "without a sandbox there is no throwaway uid", nil},
		{"limits", func(l logrus.FieldLogger) { server.LogLimits(l, nil, false) }, logrus.InfoLevel, "a cgroup of their own", nil},
		{"no limits, forks refused", func(l logrus.FieldLogger) { server.LogLimits(l, noCgroups, false) }, logrus.WarnLevel,
			"refused (they fail with an error) unless serve is given --allow-unlimited", noCgroups},
		{"no limits, allowed", func(l logrus.FieldLogger) { server.LogLimits(l, noCgroups, true) }, logrus.WarnLevel, "untrusted forks' included (--allow-unlimited)", noCgroups},
	} {
		log, hook := logtest.NewNullLogger()
		tc.say(log)
		if len(hook.Entries) != 1 {
			t.Fatalf("%s: %d lines, want one", tc.name, len(hook.Entries))
		}
		e := hook.Entries[0]
		line, _ := e.String()
		if e.Level != tc.level || !strings.Contains(e.Message, tc.want) || (tc.err != nil && !strings.Contains(line, tc.err.Error())) {
			t.Errorf("%s: %s", tc.name, line)
		}
	}
	if os.Geteuid() == 0 {
		if err := sandbox.CheckBuildUser("root"); err != nil {
			t.Errorf("--build-user root is refused: %v", err)
		}
	}
}
