package gh

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-github/v88/github"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/text"
)

// MaxDescription is GitHub's limit on a status description.
const MaxDescription = 140

// SetStatus sets a commit status on sha. Setting the same status twice
// changes nothing the first did not, so the call is retried on a 5xx.
func (c *Client) SetStatus(ctx context.Context, repo, sha string, st bot.Status) error {
	ctx = ghclient.Idempotent(ctx)
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return err
	}
	rs := &github.RepoStatus{
		State:       github.String(st.State),
		Context:     github.String(st.Context),
		Description: github.String(text.Truncate(st.Description, MaxDescription)),
	}
	if st.TargetURL != "" {
		rs.TargetURL = github.String(st.TargetURL)
	}
	if _, _, err := api.Repositories.CreateStatus(ctx, owner, name, sha, *rs); err != nil {
		return wrap(err, fmt.Sprintf("setting status %s on %s@%s", st.Context, repo, text.ShortSHA(sha)), repo)
	}
	return nil
}

// checkRunOutput is cr's output with the first batch of its annotations;
// later batches go in updates (annotationBatches).
func checkRunOutput(cr bot.CheckRun) *github.CheckRunOutput {
	if cr.Title == "" && cr.Summary == "" && cr.Text == "" {
		return nil
	}
	o := &github.CheckRunOutput{Title: github.String(cr.Title), Summary: github.String(cr.Summary)}
	if cr.Text != "" {
		o.Text = github.String(cr.Text)
	}
	if batches := annotationBatches(cr.Annotations); len(batches) > 0 {
		o.Annotations = batches[0]
	}
	return o
}

// annotationBatches splits annotations into the batches GitHub takes, at
// most bot.AnnotationBatch in one request.
func annotationBatches(as []bot.Annotation) [][]*github.CheckRunAnnotation {
	var out [][]*github.CheckRunAnnotation
	for i, a := range as {
		if i%bot.AnnotationBatch == 0 {
			out = append(out, make([]*github.CheckRunAnnotation, 0, min(bot.AnnotationBatch, len(as)-i)))
		}
		out[len(out)-1] = append(out[len(out)-1], &github.CheckRunAnnotation{
			Path: github.String(a.Path), StartLine: github.Int(a.StartLine), EndLine: github.Int(a.EndLine),
			AnnotationLevel: github.String(a.Level), Message: github.String(a.Message),
			Title: optional(a.Title), RawDetails: optional(a.RawDetails),
		})
	}
	return out
}

// addAnnotations sends the batches of cr's annotations after the first,
// each in an update of check run id that repeats the output's title and
// summary (GitHub requires them with annotations) and adds to what the
// check run has. An update that fails is retried with the whole report,
// first batch included, so a retry can repeat annotations; it never
// loses one.
func (c *Client) addAnnotations(ctx context.Context, api *github.Client, repo, owner, name string, id int64, cr bot.CheckRun) error {
	batches := annotationBatches(cr.Annotations)
	for i := 1; i < len(batches); i++ {
		body := map[string]any{"output": &github.CheckRunOutput{Title: github.String(cr.Title), Summary: github.String(cr.Summary), Annotations: batches[i]}}
		req, err := api.NewRequest(ctx, "PATCH", fmt.Sprintf("repos/%s/%s/check-runs/%d", owner, name, id), body)
		if err != nil {
			return fmt.Errorf("annotating check run %d in %s: %w", id, repo, err)
		}
		if _, err := api.Do(req, nil); err != nil {
			return wrap(err, fmt.Sprintf("annotating check run %d in %s (batch %d of %d)", id, repo, i+1, len(batches)), repo)
		}
	}
	return nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return github.String(s)
}

// CreateCheckRun creates a check run on sha and returns its id.
func (c *Client) CreateCheckRun(ctx context.Context, repo, sha string, cr bot.CheckRun) (int64, error) {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return 0, err
	}
	opts := github.CreateCheckRunOptions{
		Name: cr.Name, HeadSHA: sha,
		DetailsURL: optional(cr.DetailsURL), ExternalID: optional(cr.ExternalID),
		Status: optional(cr.Status), Conclusion: optional(cr.Conclusion),
		Output: checkRunOutput(cr),
	}
	if cr.Conclusion != "" {
		opts.CompletedAt = &github.Timestamp{Time: time.Now()}
	}
	run, _, err := api.Checks.CreateCheckRun(ctx, owner, name, opts)
	if err != nil {
		return 0, wrap(err, fmt.Sprintf("creating check run %s on %s@%s", cr.Name, repo, text.ShortSHA(sha)), repo)
	}
	// The check run exists: its id is returned even when a later batch
	// fails, so a retry updates it rather than making another.
	return run.GetID(), c.addAnnotations(ctx, api, repo, owner, name, run.GetID(), cr)
}

// CheckRuns lists the check runs named name on sha, newest first, all
// pages.
func (c *Client) CheckRuns(ctx context.Context, repo, sha, name string) ([]bot.FoundCheckRun, error) {
	api, owner, repoName, err := c.on(ctx, repo)
	if err != nil {
		return nil, err
	}
	opts := &github.ListCheckRunsOptions{CheckName: github.String(name), Filter: github.String("all"), ListOptions: github.ListOptions{PerPage: c.pageSize}}
	var out []bot.FoundCheckRun
	for {
		page, resp, err := api.Checks.ListCheckRunsForRef(ctx, owner, repoName, sha, opts)
		if err != nil {
			return nil, wrap(err, fmt.Sprintf("listing check runs %s on %s@%s", name, repo, text.ShortSHA(sha)), repo)
		}
		for _, cr := range page.CheckRuns {
			out = append(out, bot.FoundCheckRun{ID: cr.GetID(), Status: cr.GetStatus(), ExternalID: cr.GetExternalID()})
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// UpdateCheckRun updates a check run; empty fields are left as they are.
func (c *Client) UpdateCheckRun(ctx context.Context, repo string, id int64, cr bot.CheckRun) error {
	api, owner, name, err := c.on(ctx, repo)
	if err != nil {
		return err
	}
	// A request of our own: go-github's options always send "name", and
	// an empty one would rename the check.
	body := map[string]any{}
	for k, v := range map[string]string{"name": cr.Name, "status": cr.Status, "conclusion": cr.Conclusion, "details_url": cr.DetailsURL, "external_id": cr.ExternalID} {
		if v != "" {
			body[k] = v
		}
	}
	if cr.Conclusion != "" {
		body["completed_at"] = time.Now().UTC().Format(time.RFC3339)
	}
	if o := checkRunOutput(cr); o != nil {
		body["output"] = o
	}
	req, err := api.NewRequest(ctx, "PATCH", fmt.Sprintf("repos/%s/%s/check-runs/%d", owner, name, id), body)
	if err != nil {
		return fmt.Errorf("updating check run %d in %s: %w", id, repo, err)
	}
	if _, err := api.Do(req, nil); err != nil {
		return wrap(err, fmt.Sprintf("updating check run %d in %s", id, repo), repo)
	}
	return c.addAnnotations(ctx, api, repo, owner, name, id, cr)
}
