package changeset

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/provide-io/workspace-bot/workspace"
)

// fakeGitHub holds PRs in memory. Errors set per repository (lists) or per
// ref (reads) are returned instead of data.
type fakeGitHub struct {
	mu      sync.Mutex
	prs     map[string]*PR
	listErr map[string]error
	getErr  map[string]error
	lists   int
	gets    int
}

func newFake(prs ...*PR) *fakeGitHub {
	f := &fakeGitHub{prs: map[string]*PR{}, listErr: map[string]error{}, getErr: map[string]error{}}
	for _, p := range prs {
		f.prs[strings.ToLower(p.Ref())] = p
	}
	return f
}

func (f *fakeGitHub) PullRequest(_ context.Context, repo string, n int) (*PR, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	k := strings.ToLower(fmt.Sprintf("%s#%d", repo, n))
	if err := f.getErr[k]; err != nil {
		return nil, err
	}
	p, ok := f.prs[k]
	if !ok {
		return nil, fmt.Errorf("GET %s: %w", k, ErrNotFound)
	}
	c := *p
	return &c, nil
}

func (f *fakeGitHub) OpenPullRequests(_ context.Context, repo string) ([]*PR, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if err := f.listErr[strings.ToLower(repo)]; err != nil {
		return nil, err
	}
	var out []*PR
	for _, p := range f.prs {
		if strings.EqualFold(p.Repo, repo) && p.State == "open" {
			c := *p
			out = append(out, &c)
		}
	}
	return out, nil
}

// pr makes an open PR of o/<repo> from branch on the same owner.
func pr(repo string, n int, branch, body string) *PR {
	return &PR{
		Repo: "o/" + repo, Number: n, State: "open", Body: body,
		HeadRef: branch, HeadSHA: fmt.Sprintf("%s%d-sha", repo, n), HeadRepo: "o/" + repo,
		BaseRef: "main", URL: fmt.Sprintf("https://github.com/o/%s/pull/%d", repo, n),
	}
}

const testConfig = `
[workspace]
name = "ws"
repo = "https://github.com/o/ws.git"

[workspace.bot]
link_by_branch = %v

[[siblings]]
name = "a"
path = "../a"
repo = "https://github.com/o/a.git"
layer = "foundation"

[[siblings]]
name = "b"
path = "../b"
repo = "https://github.com/o/b.git"
layer = "framework"
depends_on = ["a"]

[[siblings]]
name = "c"
path = "../c"
repo = "https://github.com/o/c.git"
layer = "tools"
branch = "trunk"
`

func testCfg(t *testing.T, linkByBranch bool) *workspace.Config {
	t.Helper()
	cfg, _, err := workspace.Parse("wrknv.toml", []byte(fmt.Sprintf(testConfig, linkByBranch)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
