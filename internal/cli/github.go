package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/provide-io/workspace-bot/internal/exitcode"
	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/internal/ghclient"
)

// GitHubFlags are the flags of every command that talks to GitHub. Secrets
// are never flag defaults, so --help cannot print one: the environment is
// read after parsing.
type GitHubFlags struct {
	APIURL    string
	Token     string
	TokenFile string
	AppID     string
	AppKey    string // a PEM file, or the PEM itself
	// Getenv reads the environment (the credentials a process was handed
	// included); nil is os.Getenv.
	Getenv func(string) string
	// UserAgent names the program to GitHub.
	UserAgent string
	// Tune, when set (by tests), adjusts every client's options.
	Tune func(*ghclient.Options)

	fs     *pflag.FlagSet
	warned bool
}

func (g *GitHubFlags) getenv(key string) string {
	if g.Getenv != nil {
		return g.Getenv(key)
	}
	return os.Getenv(key)
}

// envOr is the first of the variables keys that is set, or def.
func (g *GitHubFlags) envOr(def string, keys ...string) string {
	for _, k := range keys {
		if v := g.getenv(k); v != "" {
			return v
		}
	}
	return def
}

// Register adds the flags to fs.
func (g *GitHubFlags) Register(fs *pflag.FlagSet) {
	g.fs = fs
	Checked(fs, &g.APIURL, "github-api-url", ghclient.DefaultAPIURL, "url",
		"GitHub REST API root; https://ghe.example/api/v3/ for GitHub Enterprise (env GITHUB_API_URL)", APIURL)
	Checked(fs, &g.Token, "github-token", "", "string", "GitHub token (env WORKSPACE_BOT_GITHUB_TOKEN or GITHUB_TOKEN); it needs read access to every sibling. "+
		"On the command line every user of the machine can read it: prefer --github-token-file or the variable", Token)
	Checked(fs, &g.TokenFile, "github-token-file", "", "string", "read the GitHub token from this file (env WORKSPACE_BOT_GITHUB_TOKEN_FILE)", ReadableFile)
	Checked(fs, &g.AppID, "app-id", "", "string", "GitHub App id, instead of a token (env WORKSPACE_BOT_APP_ID)", AppID)
	Checked(fs, &g.AppKey, "app-private-key", "", "string", "GitHub App private key: a .pem file (env WORKSPACE_BOT_APP_PRIVATE_KEY)", AppKey)
}

// Options turns the flags and environment into ghclient options, with
// the HTTP cache under dataDir.
func (g *GitHubFlags) Options(dataDir string) (ghclient.Options, error) {
	o := ghclient.Options{APIURL: g.APIURL, UserAgent: g.UserAgent}
	if g.fs == nil || !g.fs.Changed("github-api-url") {
		o.APIURL = g.envOr(g.APIURL, "WORKSPACE_BOT_GITHUB_API_URL", "GITHUB_API_URL")
	}
	if dataDir != "" {
		o.CacheDir = filepath.Join(dataDir, "http-cache")
	}
	appID := g.AppID
	if appID == "" {
		appID = os.Getenv("WORKSPACE_BOT_APP_ID")
	}
	key := g.AppKey
	if key == "" {
		key = g.getenv("WORKSPACE_BOT_APP_PRIVATE_KEY")
	}
	if appID != "" || key != "" {
		id, err := strconv.ParseInt(appID, 10, 64)
		if err != nil && appID != "" {
			return o, fmt.Errorf("--app-id %q: use the App's numeric id from its settings page", appID)
		}
		o.AppID = id
		if strings.HasPrefix(strings.TrimSpace(key), "-----BEGIN") {
			o.AppPrivateKey = []byte(key)
		} else if key != "" {
			data, err := os.ReadFile(key)
			if err != nil {
				return o, fmt.Errorf("--app-private-key: cannot read %s: %w", key, errors.Unwrap(err))
			}
			o.AppPrivateKey = data
		}
	} else {
		tok, err := g.token()
		if err != nil {
			return o, err
		}
		o.Token = tok
	}
	// Commands without --log-level still take the variable, for a log of
	// every GitHub call at debug.
	if lv := g.envOr("", "WORKSPACE_BOT_LOG_LEVEL"); lv != "" {
		if err := LogLevel(lv); err != nil {
			return o, fmt.Errorf("WORKSPACE_BOT_LOG_LEVEL=%q: %w", lv, err)
		}
		if log, err := NewLogger(os.Stderr, "text", lv); err == nil && log.IsLevelEnabled(logrus.DebugLevel) {
			o.Logger = log
		}
	}
	if g.Tune != nil {
		g.Tune(&o)
	}
	return o, o.Validate()
}

// TokenPath is the file the token is read from, if any.
func (g *GitHubFlags) TokenPath() string {
	if g.TokenFile != "" {
		return g.TokenFile
	}
	return os.Getenv("WORKSPACE_BOT_GITHUB_TOKEN_FILE")
}

// AppKeyPath is the App private key's file, when it is given as one.
func (g *GitHubFlags) AppKeyPath() string {
	key := g.AppKey
	if key == "" {
		key = g.getenv("WORKSPACE_BOT_APP_PRIVATE_KEY")
	}
	if key == "" || strings.HasPrefix(strings.TrimSpace(key), "-----BEGIN") {
		return ""
	}
	return key
}

// token is the token from --github-token, --github-token-file or the
// environment, in that order; the flag and the file together are an
// error. A token typed on the command line is warned about once.
func (g *GitHubFlags) token() (string, error) {
	file := g.TokenPath()
	switch {
	case g.Token != "" && g.TokenFile != "":
		return "", errors.New("give the GitHub token once: --github-token or --github-token-file, not both")
	case g.Token != "":
		if g.fs != nil && g.fs.Changed("github-token") && !g.warned {
			g.warned = true
			fmt.Fprintln(os.Stderr, "warning: --github-token on the command line can be read by every user of this machine (ps, /proc/PID/cmdline); use --github-token-file FILE or the WORKSPACE_BOT_GITHUB_TOKEN variable instead")
		}
		return strings.TrimSpace(g.Token), nil
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--github-token-file: cannot read %s: %w", file, errors.Unwrap(err))
		}
		tok := strings.TrimSpace(string(data))
		if tok == "" {
			return "", fmt.Errorf("--github-token-file %s is empty: put the token in it", file)
		}
		return tok, nil
	}
	return strings.TrimSpace(g.envOr("", "WORKSPACE_BOT_GITHUB_TOKEN", "GITHUB_TOKEN")), nil
}

// Client builds the GitHub client acting on repo: the token's, or the
// App's installation on that repository. It returns the exit code for a
// failure: usage for bad flags or credentials, infra when GitHub could not
// tell the App's installation.
func (g *GitHubFlags) Client(ctx context.Context, dataDir, repo string) (*gh.Client, int, error) {
	o, err := g.Options(dataDir)
	if err != nil {
		return nil, exitcode.Usage, err
	}
	f, err := ghclient.New(o)
	if err != nil {
		return nil, exitcode.Usage, err
	}
	c, err := f.ForRepo(ctx, repo)
	if err != nil {
		return nil, exitcode.Infra, err
	}
	return gh.New(c), exitcode.OK, nil
}

// Factory builds the GitHub client factory from the flags and
// environment; without credentials it is nil unless required.
func (g *GitHubFlags) Factory(required bool) (*ghclient.Factory, error) {
	o, err := g.Options("")
	if err != nil {
		if !required && o.Token == "" && o.AppID == 0 && len(o.AppPrivateKey) == 0 {
			return nil, nil
		}
		return nil, err
	}
	return ghclient.New(o)
}
