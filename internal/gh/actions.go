package gh

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-github/v88/github"

	"github.com/provide-io/workspace-bot/bot"
)

// The actions executor's calls: dispatch the workspace repository's run
// workflow, read and cancel its runs.

var _ bot.ActionsAPI = (*Client)(nil)

// DispatchWorkflow dispatches workflow (its file name) of repo at ref with
// inputs, asking GitHub to answer with the run it made.
func (c *Client) DispatchWorkflow(ctx context.Context, repo, workflow, ref string, inputs map[string]string) (bot.WorkflowRun, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return bot.WorkflowRun{}, err
	}
	in := make(map[string]any, len(inputs))
	for k, v := range inputs {
		in[k] = v
	}
	details, _, err := api.Actions.CreateWorkflowDispatchEventByFileName(ctx, owner, name, workflow,
		github.CreateWorkflowDispatchEventRequest{Ref: ref, Inputs: in, ReturnRunDetails: github.Ptr(true)})
	if err != nil {
		return bot.WorkflowRun{}, wrap(err, fmt.Sprintf("dispatching workflow %s of %s at %s", workflow, repo, ref), repo)
	}
	// GitHub Enterprise Server versions without return_run_details answer
	// 204 and no body: the run is found by its title later.
	return bot.WorkflowRun{ID: details.GetWorkflowRunID(), URL: details.GetHTMLURL(), Status: "queued"}, nil
}

// WorkflowRun reads one workflow run. The client revalidates a cached
// answer with If-None-Match, so polling an unchanged run costs no rate
// limit.
func (c *Client) WorkflowRun(ctx context.Context, repo string, id int64) (bot.WorkflowRun, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return bot.WorkflowRun{}, err
	}
	r, _, err := api.Actions.GetWorkflowRunByID(ctx, owner, name, id)
	if err != nil {
		return bot.WorkflowRun{}, wrap(err, fmt.Sprintf("reading workflow run %d of %s", id, repo), repo)
	}
	return convertRun(r), nil
}

// FindWorkflowRun finds the workflow_dispatch run of workflow titled
// title, created since since, newest first.
func (c *Client) FindWorkflowRun(ctx context.Context, repo, workflow, title string, since time.Time) (bot.WorkflowRun, bool, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return bot.WorkflowRun{}, false, err
	}
	opts := &github.ListWorkflowRunsOptions{Event: "workflow_dispatch", Created: ">=" + since.UTC().Format(time.RFC3339),
		ListOptions: github.ListOptions{PerPage: c.pageSize}}
	for {
		runs, resp, err := api.Actions.ListWorkflowRunsByFileName(ctx, owner, name, workflow, opts)
		if err != nil {
			return bot.WorkflowRun{}, false, wrap(err, fmt.Sprintf("listing the runs of workflow %s of %s", workflow, repo), repo)
		}
		for _, r := range runs.WorkflowRuns {
			if r.GetDisplayTitle() == title {
				return convertRun(r), true, nil
			}
		}
		if resp.NextPage == 0 {
			return bot.WorkflowRun{}, false, nil
		}
		opts.Page = resp.NextPage
	}
}

// CancelWorkflowRun asks GitHub to cancel a workflow run; one that
// completed already has nothing left to cancel.
func (c *Client) CancelWorkflowRun(ctx context.Context, repo string, id int64) error {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return err
	}
	if _, err := api.Actions.CancelWorkflowRunByID(ctx, owner, name, id); err != nil {
		// 202 Accepted is go-github's AcceptedError: the cancel is under
		// way. 409: the run completed already.
		var accepted *github.AcceptedError
		var er *github.ErrorResponse
		if errors.As(err, &accepted) || errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusConflict {
			return nil
		}
		return wrap(err, fmt.Sprintf("cancelling workflow run %d of %s", id, repo), repo)
	}
	return nil
}

func convertRun(r *github.WorkflowRun) bot.WorkflowRun {
	return bot.WorkflowRun{ID: r.GetID(), URL: r.GetHTMLURL(), Status: r.GetStatus(), Conclusion: r.GetConclusion(), Title: r.GetDisplayTitle()}
}
