package release

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/gitfixture"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/workspace"
)

// hub is the emulator holding the train's repositories, pushed from the
// local checkouts with their tags.
type hub struct {
	srv *githubtest.Server
	gh  *gh.Client
	cfg *workspace.Config
	rep map[string]*repo
}

func newHub(t *testing.T) *hub {
	t.Helper()
	srv, err := githubtest.Start(githubtest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.AddToken("tok", githubtest.Token{Login: "acme"})
	f, err := ghclient.New(ghclient.Options{APIURL: srv.APIURL(), Token: "tok", RetryBase: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Client()
	if err != nil {
		t.Fatal(err)
	}
	cfg, repos := train(t, t.TempDir())
	for name, r := range repos {
		if err := srv.CreateRepo("acme/"+name, githubtest.RepoOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := gitfixture.Git(r.dir, "push", "--quiet", "--tags", srv.GitURL("acme/"+name), "main"); err != nil {
			t.Fatal(err)
		}
	}
	return &hub{srv: srv, gh: gh.New(c), cfg: cfg, rep: repos}
}

func (h *hub) open(t *testing.T, dryRun bool) (*Plan, []Opened) {
	t.Helper()
	plan, err := NewPlan(h.cfg, readAll(t, h.cfg, h.rep), "2026-05-01")
	if err != nil {
		t.Fatal(err)
	}
	var targets []Target
	for _, e := range plan.Entries {
		targets = append(targets, Target{Entry: e, PushURL: h.srv.GitURL(e.Repo), Base: "main"})
	}
	out, err := Open(context.Background(), h.gh, plan, targets, OpenOptions{DryRun: dryRun})
	if err != nil {
		t.Fatal(err)
	}
	return plan, out
}

func (h *hub) branchTip(t *testing.T, name string) string {
	t.Helper()
	sha, _ := gitfixture.Git(h.srv.RepoDir("acme/"+name), "rev-parse", "--verify", "--quiet", "refs/heads/"+DefaultBranch)
	return sha
}

func TestOpenTrain(t *testing.T) {
	h := newHub(t)

	// A dry run looks, and writes nothing.
	_, dry := h.open(t, true)
	if len(dry) != 5 {
		t.Fatalf("dry run: %d entries", len(dry))
	}
	for _, o := range dry {
		if o.Push != "would push" || o.PR != "would create" || o.Number != 0 {
			t.Errorf("dry run %s: %+v", o.Sibling, o)
		}
		if h.branchTip(t, o.Sibling) != "" || h.srv.PR(o.Repo, 1).Number != 0 {
			t.Errorf("dry run changed %s", o.Repo)
		}
	}
	if strings.Join(dry[0].Files, ",") != ".changeset/brave-fox.md,.changeset/calm-owl.md,CHANGELOG.md,VERSION" {
		t.Errorf("foundation files: %v", dry[0].Files)
	}

	plan, out := h.open(t, false)
	refs := map[string]string{}
	for _, o := range out {
		if o.PR != "created" || o.Push != "pushed" || o.Number != 1 || o.SHA == "" {
			t.Errorf("%s: %+v", o.Sibling, o)
		}
		refs[o.Sibling] = fmt.Sprintf("%s#%d", o.Repo, o.Number)
	}
	for _, o := range out {
		e := plan.Entry(o.Sibling)
		pr := h.srv.PR(o.Repo, o.Number)
		if pr.HeadRef != DefaultBranch || pr.BaseRef != "main" || pr.Title != "Release "+e.Package+" "+e.New || pr.HeadSHA != o.SHA {
			t.Errorf("%s PR: %+v", o.Sibling, pr)
		}
		for other, ref := range refs {
			has := strings.Contains(pr.Body, "\nDepends-On: "+ref+"\n")
			if has != (other != o.Sibling) {
				t.Errorf("%s body: Depends-On %s present=%v:\n%s", o.Sibling, ref, has, pr.Body)
			}
		}
		// The branch is one commit on the base tip holding the edits.
		dir := h.srv.RepoDir(o.Repo)
		parent, _ := gitfixture.Git(dir, "rev-parse", o.SHA+"^")
		main, _ := gitfixture.Git(dir, "rev-parse", "main")
		if parent != main || h.branchTip(t, o.Sibling) != o.SHA {
			t.Errorf("%s: branch %s, parent %s, main %s", o.Sibling, h.branchTip(t, o.Sibling), parent, main)
		}
		files, _ := plan.Changes(e)
		for p, want := range files {
			got, err := gitfixture.Git(dir, "show", o.SHA+":"+p)
			switch {
			case want == nil && err == nil:
				t.Errorf("%s: %s still on the branch", o.Sibling, p)
			case want != nil && got != strings.TrimSpace(string(want)):
				t.Errorf("%s: %s on the branch = %q, want %q", o.Sibling, p, got, want)
			}
		}
	}
	golden(t, "train/body-pyvider.md", h.srv.PR("acme/pyvider", 1).Body)
	// Its notes, for a GitHub release once it lands, are the changelog
	// section it quotes.
	if n, want := Notes(h.srv.PR("acme/pyvider", 1).Body), strings.TrimSpace(plan.Section(plan.Entry("pyvider")))+"\n"; n != want {
		t.Errorf("notes %q, want %q", n, want)
	}
	// The bot links the train from any of its PRs: the body's Depends-On
	// lines are the only ones its parser sees, quoted changelogs aside.
	linked, errs := changeset.ScanDependsOn(h.srv.PR("acme/pyvider", 1).Body, "acme")
	if len(errs) != 0 || len(linked) != 4 {
		t.Errorf("Depends-On as the bot reads it: %v %v", linked, errs)
	}
	if readme, err := gitfixture.Git(h.srv.RepoDir("acme/provide-foundation"), "show", DefaultBranch+":.changeset/README.md"); err != nil || readme != "# Changesets" {
		t.Errorf("the Changesets README went with the fragments: %q %v", readme, err)
	}

	// The same plan again: the same commits, nothing pushed or edited.
	_, again := h.open(t, false)
	for i, o := range again {
		if o.PR != "unchanged" || o.Push != "unchanged" || o.Number != 1 || o.SHA != out[i].SHA {
			t.Errorf("re-run %s: %+v", o.Sibling, o)
		}
	}

	// A new fragment changes the plan: the same branches and PRs follow.
	h.rep["pyvider"].commit(map[string]string{".changeset/new.md": "---\npyvider: minor\n---\nNew API.\n"}, "feat: api")
	if _, err := gitfixture.Git(h.rep["pyvider"].dir, "push", "--quiet", h.srv.GitURL("acme/pyvider"), "main"); err != nil {
		t.Fatal(err)
	}
	_, third := h.open(t, false)
	for _, o := range third {
		if o.PR != "updated" || o.Number != 1 {
			t.Errorf("third run %s: %+v", o.Sibling, o)
		}
		if h.srv.PR(o.Repo, 2).Number != 0 {
			t.Errorf("%s: a second PR was opened", o.Repo)
		}
		if !strings.Contains(h.srv.PR(o.Repo, 1).Body, "| pyvider | 1.2.3 | 1.3.0 |") {
			t.Errorf("%s body not updated:\n%s", o.Sibling, h.srv.PR(o.Repo, 1).Body)
		}
	}
	if third[1].Push != "pushed" || h.srv.PR("acme/pyvider", 1).Title != "Release pyvider 1.3.0" || third[0].Push != "unchanged" {
		t.Errorf("pyvider: %+v, PR %+v; foundation %+v", third[1], h.srv.PR("acme/pyvider", 1), third[0])
	}
	if v, _ := gitfixture.Git(h.srv.RepoDir("acme/pyvider"), "show", DefaultBranch+":pyproject.toml"); !strings.Contains(v, `version = "1.3.0"     # bumped`) {
		t.Errorf("pyvider branch pyproject:\n%s", v)
	}
	if _, err := gitfixture.Git(h.srv.RepoDir("acme/pyvider"), "show", DefaultBranch+":.changeset/new.md"); err == nil {
		t.Error("the new fragment was not removed")
	}

	// Dry run after: it names the PRs it would update.
	_, dry = h.open(t, true)
	for _, o := range dry {
		if o.PR != "would update" || o.Number != 1 {
			t.Errorf("dry run after: %+v", o)
		}
	}
}

// Landing reads what a release PR releases from its body, and nothing
// from any other body.
func TestReleasedReadsOnlyReleaseBodies(t *testing.T) {
	p := &Plan{Workspace: "ws"}
	e := &Entry{Sibling: "pyvider", Package: "pyvider", Old: "1.2.3", New: "1.2.4", Bump: Patch}
	s, v, ok := Released(p.Body(e, nil))
	if !ok || s != "pyvider" || v != "1.2.4" {
		t.Errorf("a release body: %q %q %v", s, v, ok)
	}
	for _, body := range []string{
		"<!-- workspace-bot release of pyvider 9.9.9 -->\n",
		"Release of pyvider 1.2.4",
		bodyMarker + "\nNo release of pyvider\n",
	} {
		if _, _, ok := Released(body); ok {
			t.Errorf("read a release from %q", body)
		}
	}
}
