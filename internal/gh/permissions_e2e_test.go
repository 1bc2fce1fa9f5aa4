package gh

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// Every call of the Client is in callPermissions or tokenOnlyCalls, so a
// new call cannot reach GitHub without saying what it needs of an App.
func TestEveryCallHasItsPermissions(t *testing.T) {
	typ := reflect.TypeOf(&Client{})
	methods := map[string]bool{}
	for i := 0; i < typ.NumMethod(); i++ {
		name := typ.Method(i).Name
		methods[name] = true
		_, app := callPermissions[name]
		_, token := tokenOnlyCalls[name]
		if app == token {
			t.Errorf("Client.%s: list it in callPermissions (what an App needs for it) or in tokenOnlyCalls (why an App never calls it), once", name)
		}
	}
	for name := range callPermissions {
		if !methods[name] {
			t.Errorf("callPermissions names %s, which the Client does not have", name)
		}
	}
}

// Each call, made through an installation of an App given exactly its
// row of callPermissions, succeeds, and uses every permission of the row
// at the access the row says: the row is enough, and no more than the
// call needs. The emulator refuses an installation token what its App's
// permissions do not allow, from GitHub's table of what each endpoint
// needs.
func TestCallPermissionsAreWhatTheCallsNeed(t *testing.T) {
	w := newWorld(t)
	const repo = "acme/core"
	base := w.repo(t, repo, githubtest.RepoOptions{})
	n := w.pr(t, githubtest.NewPR{Repo: repo, Head: "change", Title: "Change"})
	head := w.srv.PR(repo, n).HeadSHA
	w.srv.SetPermission(repo, "alice", "write")
	admin := w.client(t, fullToken, "")
	ctx := t.Context()
	comment, err := admin.CreateComment(ctx, repo, n, "hello")
	if err != nil {
		t.Fatal(err)
	}
	tree, err := admin.CommitTree(ctx, repo, base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Tag(ctx, repo, "v0.9.0", base); err != nil {
		t.Fatal(err)
	}
	var checkRun, workflowRun int64
	w.srv.AddWorkflow(repo, githubtest.Workflow{Path: "run.yml", RunName: "run ${{ inputs.run }}"})
	// A run to read and cancel; DispatchWorkflow makes more.
	wr, err := admin.DispatchWorkflow(ctx, repo, "run.yml", "main", map[string]string{"run": "1"})
	if err != nil {
		t.Fatal(err)
	}
	workflowRun = wr.ID
	// A second PR for Merge, so merging it leaves the first open.
	merged := w.pr(t, githubtest.NewPR{Repo: repo, Head: "to-merge", Title: "To merge"})
	if _, err := w.srv.Commit(repo, "release", map[string]string{"VERSION": "1.0.0\n"}, "release"); err != nil {
		t.Fatal(err)
	}

	calls := map[string]func(ctx context.Context, c *Client) error{
		"PullRequest":      func(ctx context.Context, c *Client) error { _, err := c.PullRequest(ctx, repo, n); return err },
		"OpenPullRequests": func(ctx context.Context, c *Client) error { _, err := c.OpenPullRequests(ctx, repo); return err },
		"EditPullRequestBody": func(ctx context.Context, c *Client) error {
			return c.EditPullRequestBody(ctx, repo, n, "Depends-On: acme/lib#1")
		},
		"FileContents": func(ctx context.Context, c *Client) error {
			_, err := c.FileContents(ctx, repo, "README.md", "")
			return err
		},
		"Permission": func(ctx context.Context, c *Client) error { _, err := c.Permission(ctx, repo, "alice"); return err },
		// Only an App makes check runs: UpdateCheckRun, later in the
		// order below, updates this one.
		"CreateCheckRun": func(ctx context.Context, c *Client) error {
			checkRun, err = c.CreateCheckRun(ctx, repo, head, bot.CheckRun{Name: "ws", Status: "queued"})
			return err
		},
		"UpdateCheckRun": func(ctx context.Context, c *Client) error {
			if checkRun == 0 {
				return errors.New("CreateCheckRun made no check run to update")
			}
			return c.UpdateCheckRun(ctx, repo, checkRun, bot.CheckRun{Name: "ws", Conclusion: "success"})
		},
		"CheckRuns": func(ctx context.Context, c *Client) error { _, err := c.CheckRuns(ctx, repo, head, "ws"); return err },
		"FirstReported": func(ctx context.Context, c *Client) error {
			_, err := c.FirstReported(ctx, repo, head, "ws")
			return err
		},
		"Comments": func(ctx context.Context, c *Client) error { _, err := c.Comments(ctx, repo, n); return err },
		"CreateComment": func(ctx context.Context, c *Client) error {
			_, err := c.CreateComment(ctx, repo, n, "summary")
			return err
		},
		"EditComment":  func(ctx context.Context, c *Client) error { return c.EditComment(ctx, repo, comment, "edited") },
		"React":        func(ctx context.Context, c *Client) error { return c.React(ctx, repo, comment, "eyes") },
		"PullState":    func(ctx context.Context, c *Client) error { _, err := c.PullState(ctx, repo, n); return err },
		"BranchRules":  func(ctx context.Context, c *Client) error { _, err := c.BranchRules(ctx, repo, "main"); return err },
		"MergeMethods": func(ctx context.Context, c *Client) error { _, err := c.MergeMethods(ctx, repo); return err },
		"Approvals":    func(ctx context.Context, c *Client) error { _, err := c.Approvals(ctx, repo, n); return err },
		"CheckStates":  func(ctx context.Context, c *Client) error { _, err := c.CheckStates(ctx, repo, head); return err },
		"BranchTip":    func(ctx context.Context, c *Client) error { _, err := c.BranchTip(ctx, repo, "main"); return err },
		"Merge": func(ctx context.Context, c *Client) error {
			_, err := c.Merge(ctx, repo, merged, w.srv.PR(repo, merged).HeadSHA, "merge", "Land it")
			return err
		},
		"CommitTree":    func(ctx context.Context, c *Client) error { _, err := c.CommitTree(ctx, repo, base); return err },
		"TreeFiles":     func(ctx context.Context, c *Client) error { _, err := c.TreeFiles(ctx, repo, tree); return err },
		"CommitParents": func(ctx context.Context, c *Client) error { _, err := c.CommitParents(ctx, repo, head); return err },
		"Tag":           func(ctx context.Context, c *Client) error { _, err := c.Tag(ctx, repo, "v1.0.0", base); return err },
		"CreateCommit": func(ctx context.Context, c *Client) error {
			_, err := c.CreateCommit(ctx, repo, "revert", tree, []string{head})
			return err
		},
		"CreateBranch": func(ctx context.Context, c *Client) error { return c.CreateBranch(ctx, repo, "revert-1", base) },
		"ChangedFiles": func(ctx context.Context, c *Client) error { _, err := c.ChangedFiles(ctx, repo, n); return err },
		"PublishRelease": func(ctx context.Context, c *Client) error {
			_, err := c.PublishRelease(ctx, repo, "v0.9.0", "v0.9.0", "notes")
			return err
		},
		"FindOpenPullRequest": func(ctx context.Context, c *Client) error {
			_, err := c.FindOpenPullRequest(ctx, repo, "change")
			return err
		},
		"CreatePullRequest": func(ctx context.Context, c *Client) error {
			_, err := c.CreatePullRequest(ctx, repo, "release", "main", "Release", "body")
			return err
		},
		"EditPullRequest": func(ctx context.Context, c *Client) error { return c.EditPullRequest(ctx, repo, n, "Change", "body") },
		"DispatchWorkflow": func(ctx context.Context, c *Client) error {
			_, err := c.DispatchWorkflow(ctx, repo, "run.yml", "main", map[string]string{"run": "2"})
			return err
		},
		"WorkflowRun": func(ctx context.Context, c *Client) error {
			_, err := c.WorkflowRun(ctx, repo, workflowRun)
			return err
		},
		"FindWorkflowRun": func(ctx context.Context, c *Client) error {
			_, ok, err := c.FindWorkflowRun(ctx, repo, "run.yml", "run 1", time.Now().Add(-time.Hour))
			if err == nil && !ok {
				err = errors.New("the dispatched run was not found")
			}
			return err
		},
		"CancelWorkflowRun": func(ctx context.Context, c *Client) error { return c.CancelWorkflowRun(ctx, repo, workflowRun) },
	}

	key, keyPEM := rsaKey(t)
	names := make([]string, 0, len(callPermissions))
	for name := range callPermissions {
		names = append(names, name)
	}
	sort.Strings(names)
	// In name order, so CreateCheckRun comes before UpdateCheckRun.
	for i, name := range names {
		call := calls[name]
		if call == nil {
			t.Errorf("%s: no call in this test; add one", name)
			continue
		}
		appID := int64(5000 + i)
		want := map[string]string{}
		for _, p := range callPermissions[name] {
			want[p.Name] = p.Access
		}
		w.srv.AddApp(appID, "perm-check-"+name, &key.PublicKey)
		w.srv.SetAppPermissions(appID, want)
		w.srv.AddInstallation(githubtest.Installation{ID: appID * 10, AppID: appID, Account: "acme"})
		f, err := ghclient.New(ghclient.Options{APIURL: w.srv.APIURL(), AppID: appID, AppPrivateKey: keyPEM, RetryBase: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := call(ctx, Routed(f.ForRepo)); err != nil {
			t.Errorf("%s with %v: %v", name, callPermissions[name], err)
			continue
		}
		if got := w.srv.PermissionsUsed(appID); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the row says %v; the calls used %v", name, want, got)
		}
	}
}

func TestAppPermissions(t *testing.T) {
	got := map[string]string{}
	for _, p := range AppPermissions() {
		got[p.Name] = p.Access
	}
	want := map[string]string{"actions": "read", "checks": "write", "contents": "write", "issues": "write", "metadata": "read", "pull_requests": "write", "statuses": "read"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AppPermissions() = %v, want %v", got, want)
	}
}
