package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/release"
	"github.com/provide-io/workspace-bot/workspace"
)

// releaseOptions are the flags of "workspace-bot release plan|open".
type releaseOptions struct {
	Config  string
	DataDir string
	Local   bool
	JSON    bool
	DryRun  bool // open only
	Branch  string
	Date    string
	GitHub  cli.GitHubFlags
}

// Validate checks the flags that make sense without the config.
func (o *releaseOptions) Validate() error {
	if !o.Local && o.DataDir == "" {
		return errors.New("--data-dir is empty: name a directory for mirrors and checkouts")
	}
	if _, err := time.Parse("2006-01-02", o.Date); err != nil {
		return fmt.Errorf("--date %q: use YYYY-MM-DD", o.Date)
	}
	if o.Branch == "" || strings.HasPrefix(o.Branch, "-") || strings.ContainsAny(o.Branch, " ~^:?*[\\") || strings.Contains(o.Branch, "..") {
		return fmt.Errorf("--branch %q: use a plain branch name such as %s", o.Branch, release.DefaultBranch)
	}
	return nil
}

func runRelease(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const (
		synopsis = "release plan|open [flags]\n\n  plan  print what would be released, and why\n  open  push one release branch and open or update one PR per released sibling\n\nRun \"workspace-bot release plan --help\" or \"... open --help\" for their flags."
		planSyn  = "release plan [--config wrknv.toml] [--data-dir DIR] [--local] [--json] [--date YYYY-MM-DD]"
		openSyn  = "release open [--config wrknv.toml] [--data-dir DIR] [--local] [--json] [--date YYYY-MM-DD] [--dry-run] [--branch B]"
	)
	if len(args) == 0 || (args[0] != "plan" && args[0] != "open") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintf(stdout, "usage: workspace-bot %s\n", synopsis)
			return exitOK
		}
		if len(args) > 0 {
			fmt.Fprintf(stderr, "error: unknown release command %q: use plan or open\n\n", args[0])
		}
		fmt.Fprintf(stderr, "usage: workspace-bot %s\n", synopsis)
		return exitUsage
	}
	sub := args[0]
	syn := planSyn
	if sub == "open" {
		syn = openSyn
	}
	fs := cli.NewFlagSet("release "+sub, syn, stderr)
	o := &releaseOptions{GitHub: githubFlags()}
	cli.Checked(fs, &o.Config, "config", workspace.DefaultFileName, "string", "path to wrknv.toml (env WORKSPACE_BOT_CONFIG)", cli.ConfigPath)
	cli.Checked(fs, &o.DataDir, "data-dir", defaultDataDir(), "string", "where mirrors and checkouts live (env WORKSPACE_BOT_DATA_DIR)", cli.Dir)
	fs.BoolVar(&o.Local, "local", false, "read the checkouts on disk at each sibling's path (their HEAD commits) instead of each repo's branch tip")
	fs.BoolVar(&o.JSON, "json", false, "print the plan (and for open, the PRs) as JSON on stdout")
	fs.StringVar(&o.Date, "date", time.Now().UTC().Format("2006-01-02"), "date of the new CHANGELOG sections")
	if sub == "open" {
		fs.BoolVar(&o.DryRun, "dry-run", false, "show what would be pushed and opened; push, commit and open nothing")
		fs.StringVar(&o.Branch, "branch", release.DefaultBranch, "release branch in every sibling's repository")
	} else {
		o.Branch = release.DefaultBranch
	}
	o.GitHub.Register(fs)
	cfg, code := parseAndLoad(fs, args[1:], o, &o.Config, "", stderr)
	if cfg == nil {
		return code
	}
	// Credentials are optional for plan (public siblings need none) and
	// required for open; git gets them through its environment.
	factory, err := o.GitHub.Factory(sub == "open")
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return exitUsage
	}
	var auth func(context.Context, string) (string, error)
	if factory != nil {
		auth = factory.GitAuthorization
	}

	states, cleanup, err := releaseStates(ctx, o, cfg, auth, stderr)
	defer cleanup()
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return cli.ExitOf(err)
	}
	plan, err := release.NewPlan(cfg, states, o.Date)
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return cli.ExitOf(err)
	}
	if sub == "plan" {
		if o.JSON {
			return writeJSON(stdout, plan)
		}
		if err := plan.WriteTable(stdout); err != nil {
			return exitInfra
		}
		return exitOK
	}

	targets := release.Targets(cfg, plan)
	if len(targets) == 0 {
		if o.JSON {
			return writeJSON(stdout, struct {
				Plan  *release.Plan    `json:"plan"`
				Pulls []release.Opened `json:"pull_requests"`
			}{plan, []release.Opened{}})
		}
		plan.WriteTable(stdout) //nolint:errcheck // stdout
		return exitOK
	}
	opened, err := release.Open(ctx, gh.Routed(factory.ForRepo), plan, targets, release.OpenOptions{Branch: o.Branch, DryRun: o.DryRun, Authorization: auth})
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return cli.ExitOf(err)
	}
	if o.JSON {
		return writeJSON(stdout, struct {
			Plan  *release.Plan    `json:"plan"`
			Pulls []release.Opened `json:"pull_requests"`
		}{plan, opened})
	}
	plan.WriteTable(stdout) //nolint:errcheck // stdout
	fmt.Fprintln(stdout)
	for _, x := range opened {
		fmt.Fprintln(stdout, x.Line())
	}
	return exitOK
}

func writeJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitInfra
	}
	return exitOK
}

// releaseStates reads every sibling: from the checkouts on disk with
// --local, or from each repo's branch tip, checked out through ci's
// mirrors (which fetch tags) into a build root removed by cleanup.
func releaseStates(ctx context.Context, o *releaseOptions, cfg *workspace.Config, auth func(context.Context, string) (string, error), stderr io.Writer) (map[string]*release.State, func(), error) {
	dirs, cleanup := cfg.SiblingDirs(), func() {}
	if !o.Local {
		runner := &ci.Runner{DataDir: o.DataDir, Keep: true, Progress: ci.NewProgress(stderr, false), Authorization: auth}
		var err error
		if dirs, cleanup, err = runner.CheckoutTips(ctx, cfg); err != nil {
			return nil, cleanup, err
		}
	}
	states, err := release.ReadAll(ctx, cfg, dirs)
	return states, cleanup, err
}
