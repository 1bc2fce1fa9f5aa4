package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/provide-io/workspace-bot/internal/cli"
	"github.com/provide-io/workspace-bot/internal/runjob"
)

const runJobSynopsis = `run-job --service URL --run ID [flags]

The job of serve --executor actions, run by its workflow (see
examples/workspace-run.yml): fetches run ID's pinned plan from the
service, builds it as the service would, and posts the outcome back. The
run's one-time token comes in WORKSPACE_BOT_RUN_TOKEN; a token that can
read private siblings, when they need one, in WORKSPACE_BOT_GITHUB_TOKEN,
with GITHUB_API_URL (the runner sets it).`

func runRunJob(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o := runjob.Options{Stdout: stdout, Stderr: stderr}
	fs := cli.NewFlagSet("run-job", runJobSynopsis, stderr)
	var run string
	cli.Checked(fs, &o.Service, "service", "", "url", "the service's URL, the workflow's service input", cli.HTTPURL)
	fs.StringVar(&run, "run", "", "the run to build, the workflow's run input")
	cli.Checked(fs, &o.Dir, "workspace-dir", ".", "string", "the workspace repository's checkout", cli.Dir)
	cli.Checked(fs, &o.DataDir, "data-dir", defaultJobDataDir(), "string", "mirrors and build roots; default $RUNNER_TEMP/workspace-bot", cli.Dir)
	if code, ok := cli.ParseNoArgs(fs, args); !ok {
		return code
	}
	if run != "" {
		n, err := strconv.ParseInt(run, 10, 64)
		if err != nil {
			fs.Usage()
			return exitUsage
		}
		o.Run = n
	}
	o.Token = getenv(runjob.TokenVar)
	o.GitHubToken, o.APIURL = getenv("WORKSPACE_BOT_GITHUB_TOKEN"), getenv("GITHUB_API_URL")
	if o.APIURL == "" {
		o.APIURL = "https://api.github.com/"
	}
	// The tokens stay out of every process the build starts.
	os.Unsetenv(runjob.TokenVar)
	os.Unsetenv("WORKSPACE_BOT_GITHUB_TOKEN")
	o.WorkflowRun, _ = strconv.ParseInt(getenv("GITHUB_RUN_ID"), 10, 64)
	return runjob.Run(ctx, o)
}

func defaultJobDataDir() string {
	if t := os.Getenv("RUNNER_TEMP"); t != "" {
		return filepath.Join(t, "workspace-bot")
	}
	return filepath.Join(os.TempDir(), "workspace-bot-job")
}
