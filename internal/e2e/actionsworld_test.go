package e2e

import (
	"time"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/actionstest"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/internal/server"
)

// The workspace repository whose workflow builds the runs of a world
// with actions, and the workflow.
const (
	wsRepo   = owner + "/ws"
	workflow = "workspace-run.yml"
)

// actionsWorld configures serve --executor actions in a world.
type actionsWorld struct {
	// modes: what the runner does with each dispatch in turn.
	modes []actionstest.Mode
	// noWorkflow leaves the workspace repository without the workflow;
	// disabled has it disabled.
	noWorkflow, disabled bool
	// startDeadline: serve --executor-start-deadline (1m when 0).
	startDeadline time.Duration
	// standIn, when set, makes every job a stand-in that builds nothing
	// for that long (actionstest.Runner.StandIn).
	standIn time.Duration
}

// dispatchTo makes the world's service build on the emulator's Actions:
// the workspace repository with its run workflow (titled as the example
// titles its runs), webhooks from the emulator to the service, and a
// runner that runs the real binary's run-job on the world's workspace
// checkout.
func (w *world) dispatchTo(a *actionsWorld, url string, so *server.Options) {
	t := w.t
	if err := w.gh.CreateRepo(wsRepo, githubtest.RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	w.push(wsRepo, "main", map[string]string{"README": "ws\n"})
	if !a.noWorkflow {
		w.gh.AddWorkflow(wsRepo, githubtest.Workflow{Path: workflow, Name: "workspace-run", RunName: "workspace-bot run ${{ inputs.run }}, attempt ${{ inputs.attempt }}", Disabled: a.disabled})
	}
	w.gh.SendWebhooks(url+"/webhook", secret, "workflow_run", "workflow_job")
	deadline := a.startDeadline
	if deadline == 0 {
		deadline = time.Minute
	}
	so.Executor = server.ExecutorActions
	so.Actions = bot.ActionsOptions{Repo: wsRepo, Workflow: workflow, StartDeadline: deadline, Check: 200 * time.Millisecond}
	w.runner = &actionstest.Runner{GH: w.gh, Bin: buildBot(t), Checkout: w.cfgDir, Modes: a.modes, StandIn: a.standIn}
	w.runner.Start()
	// Registered before the service's cleanup, so it runs after it: the
	// service stops first, then the jobs.
	t.Cleanup(w.runner.Close)
}
