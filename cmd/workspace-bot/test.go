package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/ci"
	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/sandbox"
	"github.com/provide-io/workspace-bot/workspace"
)

// testOptions are the flags of "workspace-bot test".
type testOptions struct {
	Config  string
	DataDir string
	Refs    []string // SIBLING=REF
	Local   bool
	JSON    bool
	Keep    bool
	Verbose bool
	Task    string          // --task: run [workspace.tasks].<Task> in place of the tests
	Fresh   bool            // --fresh: a new build root, nothing restored from the cache
	PRs     []string        // --pr: resolve these changesets through GitHub (pr.go)
	GitHub  cli.GitHubFlags // for --pr
	// BuildUser runs setup and test steps as this user (--build-user).
	BuildUser string
	// Merge lands the changeset once it passes (merge); DryRun checks only.
	Merge, DryRun bool
	// All runs every sibling's tests in a --pr run, not only those of
	// the siblings the changeset affects.
	All bool
}

// Validate checks the flags that make sense without the config.
func (o *testOptions) Validate() error {
	if o.Local && o.Fresh {
		return errors.New("--fresh cannot be combined with --local: --local builds in the checkouts on disk, not in a build root")
	}
	if o.Local && len(o.Refs) > 0 {
		return errors.New("--ref cannot be combined with --local: --local uses the checkouts on disk as they are")
	}
	if !o.Local && o.DataDir == "" {
		return errors.New("--data-dir is empty: name a directory for mirrors and build roots")
	}
	for _, r := range o.Refs {
		name, ref, ok := strings.Cut(r, "=")
		if !ok || name == "" || ref == "" {
			return fmt.Errorf("--ref %q: use SIBLING=REF, such as --ref pyvider=feature-x", r)
		}
	}
	return nil
}

// request turns the options into a ci.Request for cfg. Every source of
// pins (--ref now, a resolved --pr changeset later) adds to req.Pins here.
func (o *testOptions) request(cfg *workspace.Config) (ci.Request, error) {
	// The developer's own refs: trusted, so the warm build root and the
	// cache serve them. A --pr changeset may hold a fork's code, which
	// gets a root of its own (see ci.Request.Trusted).
	req := ci.Request{Config: cfg, Local: o.Local, Task: o.Task, Fresh: o.Fresh, Trusted: len(o.PRs) == 0}
	var err error
	req.Pins, req.Changeset, err = ci.PinRefs(cfg, o.Refs)
	if o.Local {
		req.Changeset = "local"
	}
	return req, err
}

func runTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("test", "test [--config wrknv.toml] [--data-dir DIR] [--ref SIBLING=REF]... [--pr REF]... [--all] [--local] [--task NAME] [--fresh] [--json] [--keep] [-v]", stderr)
	o := &testOptions{GitHub: githubFlags()}
	fs.BoolVar(&o.All, "all", false, "with --pr, run every sibling's tests, not only those of the siblings the changeset affects")
	return testOrMerge(ctx, fs, o, args, stdout, stderr)
}

func testOrMerge(ctx context.Context, fs *pflag.FlagSet, o *testOptions, args []string, stdout, stderr io.Writer) int {
	cli.Checked(fs, &o.Config, "config", workspace.DefaultFileName, "string", "path to wrknv.toml (env WORKSPACE_BOT_CONFIG)", cli.ConfigPath)
	cli.Checked(fs, &o.DataDir, "data-dir", defaultDataDir(), "string", "where mirrors and build roots live (env WORKSPACE_BOT_DATA_DIR)", cli.Dir)
	fs.StringArrayVar(&o.Refs, "ref", nil, "build SIBLING at REF (a branch, tag or SHA) instead of its branch tip; repeatable")
	fs.StringArrayVar(&o.PRs, "pr", nil, "build the changeset of this pull request (o/r#N, r#N or its URL), resolved through GitHub; repeatable")
	fs.BoolVar(&o.Local, "local", false, "use the checkouts already on disk at each sibling's path, in place")
	fs.BoolVar(&o.JSON, "json", false, "print the result as JSON on stdout")
	fs.StringVar(&o.Task, "task", "", "run [workspace.tasks].NAME (such as lint) in place of the tests")
	fs.BoolVar(&o.Fresh, "fresh", false, "start from a new build root and restore nothing from the cache")
	fs.BoolVar(&o.Keep, "keep", false, "keep a temporary build root after the run (its path is printed)")
	fs.BoolVarP(&o.Verbose, "verbose", "v", false, "stream every step's output to stderr")
	cli.Checked(fs, &o.BuildUser, "build-user", "", "string", "run setup and test steps as this unprivileged user (needs root) (env WORKSPACE_BOT_BUILD_USER)", sandbox.CheckBuildUser)
	o.GitHub.Register(fs)
	cfg, code := parseAndLoad(fs, args, o, &o.Config, " (refs are given with --ref SIBLING=REF)", stderr)
	if cfg == nil {
		return code
	}
	req, err := o.request(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return exitUsage
	}
	var plan *bot.Plan
	if len(o.PRs) > 0 {
		if plan, code = pinChangeset(ctx, o, cfg, &req, stderr); plan == nil {
			return code
		}
	}
	if o.DryRun {
		return landChangeset(ctx, o, plan, nil, stdout, stderr)
	}
	if o.Verbose {
		req.Output = stderr
	}
	runner := &ci.Runner{DataDir: o.DataDir, Keep: o.Keep, Progress: ci.NewProgress(stderr, o.Verbose), BuildUser: o.BuildUser}
	// Private siblings on that GitHub are fetched with the credentials, if given.
	factory, err := o.GitHub.Factory(false)
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		return exitUsage
	}
	if factory != nil {
		runner.Authorization = factory.GitAuthorization
	}
	res, err := runner.Run(ctx, req)
	if err != nil {
		fmt.Fprintf(stderr, "error: %s\n", err)
		if res != nil && !o.JSON {
			res.Error = "" // said once, on stderr; the text report need not repeat it
		}
	}
	if res != nil {
		if o.JSON {
			if code := writeJSON(stdout, res.ForJSON()); code != exitOK {
				return code
			}
		} else if err == nil || len(res.Siblings)+len(res.Steps) > 0 {
			// A run refused before it built anything has nothing to
			// show beyond the error already said.
			ci.WriteReport(stdout, cfg.Workspace.Name, res)
		}
	}
	if o.Merge && err == nil && res.Result == ci.Success {
		return landChangeset(ctx, o, plan, res, stdout, stderr)
	}
	return ci.ExitCode(res, err)
}
