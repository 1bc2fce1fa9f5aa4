package gh

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/changeset"
	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/workspace"
)

// trustByPermission trusts an author whose author_association is one of
// associations and whose permission on the PR's repository, read through
// the real client, allows pushing: the decision asked of
// the bot.
func trustByPermission(c *Client, associations ...string) changeset.TrustFunc {
	return func(ctx context.Context, pr *changeset.PR) (bool, error) {
		listed := false
		for _, a := range associations {
			listed = listed || strings.EqualFold(a, pr.AuthorAssociation)
		}
		if !listed {
			return false, nil
		}
		perm, err := c.Permission(ctx, pr.Repo, pr.Author)
		if err != nil {
			return false, err
		}
		return perm == "admin" || perm == "write", nil
	}
}

func resolveTrusting(t *testing.T, c *Client, cfg *workspace.Config, start string) (*changeset.Changeset, error) {
	t.Helper()
	ref, err := changeset.ParseRef(start, "o")
	if err != nil {
		t.Fatal(err)
	}
	return changeset.Resolve(context.Background(), c, cfg, ref,
		changeset.Options{Trusted: trustByPermission(c, "OWNER", "MEMBER", "COLLABORATOR")})
}

func exclusions(cs *changeset.Changeset) []string {
	var out []string
	for _, e := range cs.Excluded {
		out = append(out, fmt.Sprintf("%s: %s (%s)", e.PR, strings.Join(changeset.LinkWords(e.Links), "; "), e.Reason))
	}
	return out
}

// An attack on the emulator: an outsider's fork PR
// names a maintainer's PR with a junk word on the line, in a sibling the
// maintainer's changeset already has; a read-only collaborator opens a PR
// from a branch named like the maintainer's. Neither joins nor breaks the
// maintainer's changeset, and each one's own changeset is theirs.
func TestResolveOutsidersCannotJoinOrBreakAMaintainersChangeset(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := workspaceOf(t, w, 3, true)
	c := w.client(t, fullToken, "")
	b := w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "api"})
	a := w.pr(t, githubtest.NewPR{Repo: "o/s1", Head: "feature", Body: fmt.Sprintf("Depends-On: o/s2#%d", b)})
	start := fmt.Sprintf("o/s1#%d", a)
	before, err := resolveTrusting(t, c, cfg, start)
	if err != nil {
		t.Fatal(err)
	}

	w.repo(t, "mallory/s2", githubtest.RepoOptions{ForkOf: "o/s2"})
	evil := w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "evil", HeadRepo: "mallory/s2", User: "mallory", AuthorAssociation: "NONE",
		Body: fmt.Sprintf("Depends-On: o/s1#%d needs-the-new-api", a)})
	w.srv.SetPermission("o/s3", "reader", "read")
	ro := w.pr(t, githubtest.NewPR{Repo: "o/s3", Head: "feature", Base: "trunk", User: "reader", AuthorAssociation: "COLLABORATOR"})

	for _, from := range []string{start, fmt.Sprintf("o/s2#%d", b)} {
		cs, err := resolveTrusting(t, c, cfg, from)
		if err != nil {
			t.Fatalf("from %s: %v", from, err)
		}
		if cs.Key != before.Key || cs.RunID != before.RunID {
			t.Errorf("from %s: key %q run %q, want %q %q as before the outsiders came", from, cs.Key, cs.RunID, before.Key, before.RunID)
		}
		want := []string{
			fmt.Sprintf("o/s2#%d: depends on o/s1#%d (author not trusted)", evil, a),
			fmt.Sprintf("o/s3#%d: same branch as o/s1#%d (author not trusted)", ro, a),
		}
		if got := exclusions(cs); !reflect.DeepEqual(got, want) {
			t.Errorf("from %s: excluded\n  %s\nwant\n  %s", from, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		for _, m := range cs.Members {
			if !m.Trusted {
				t.Errorf("from %s: the maintainer's %s is not trusted", from, m.PR.Ref())
			}
		}
	}

	// The outsider's own changeset: their bad line and their second PR for
	// s2 are their errors.
	_, err = resolveTrusting(t, c, cfg, fmt.Sprintf("o/s2#%d", evil))
	var ce *changeset.Error
	if !errors.As(err, &ce) || ce.Kind != changeset.KindBadRef || ce.PR.Number != evil {
		t.Errorf("the outsider's changeset: %v; want a bad-ref error on o/s2#%d", err, evil)
	}
	if !strings.Contains(err.Error(), "both open PRs for sibling s2") {
		t.Errorf("the outsider's changeset: %v; want the duplicate named too", err)
	}

	// The read-only collaborator's own changeset has the maintainer's PRs
	// (trusted, by branch and by their Depends-On), and theirs, untrusted.
	cs, err := resolveTrusting(t, c, cfg, fmt.Sprintf("o/s3#%d", ro))
	if err != nil {
		t.Fatal(err)
	}
	sameLinks(t, cs,
		fmt.Sprintf("o/s1#%d[s1]: depends on o/s2#%d; same branch as o/s3#%d", a, b, ro),
		fmt.Sprintf("o/s2#%d[s2]: Depends-On in o/s1#%d", b, a),
		fmt.Sprintf("o/s3#%d[s3]: start; same branch as o/s1#%d", ro, a))
	for _, m := range cs.Members {
		if m.Trusted != (m.PR.Repo != "o/s3") {
			t.Errorf("%s trusted = %v", m.PR.Ref(), m.Trusted)
		}
	}
	if len(cs.Excluded) != 1 || cs.Excluded[0].PR.Number != evil {
		t.Errorf("excluded %q, want the outsider's PR", exclusions(cs))
	}
}

// A maintainer who wants the outsider's PR in links it: it joins, its head
// is pinned, and its own lines still do not count.
func TestResolveMaintainerLinksAnOutsidersPR(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cfg := workspaceOf(t, w, 2, false)
	c := w.client(t, fullToken, "")
	w.repo(t, "mallory/s2", githubtest.RepoOptions{ForkOf: "o/s2"})
	evil := w.pr(t, githubtest.NewPR{Repo: "o/s2", Head: "fix", HeadRepo: "mallory/s2", User: "mallory", AuthorAssociation: "CONTRIBUTOR",
		Body: "Depends-On: o/ws#77 junk"})
	a := w.pr(t, githubtest.NewPR{Repo: "o/s1", Head: "feature", Body: "Needs mallory's fix."})
	start := fmt.Sprintf("o/s1#%d", a)
	if err := w.srv.SetPRBody("o/s1", a, addLink(t, w.srv.PR("o/s1", a).Body, changeset.Ref{Repo: "o/s2", Number: evil})); err != nil {
		t.Fatal(err)
	}
	cs, err := resolveTrusting(t, c, cfg, start)
	if err != nil {
		t.Fatal(err)
	}
	sameLinks(t, cs,
		fmt.Sprintf("o/s1#%d[s1]: start; depends on o/s2#%d", a, evil),
		fmt.Sprintf("o/s2#%d[s2]: Depends-On in o/s1#%d", evil, a))
	if m := cs.Members[1]; m.Trusted || m.PR.HeadSHA != w.srv.PR("o/s2", evil).HeadSHA || !m.PR.Fork {
		t.Errorf("the outsider's member: trusted %v, fork %v, head %s", m.Trusted, m.PR.Fork, m.PR.HeadSHA)
	}
	if got, want := exclusions(cs), []string{fmt.Sprintf("o/ws#77: Depends-On in o/s2#%d (named only by a PR whose author is not trusted)", evil)}; !reflect.DeepEqual(got, want) {
		t.Errorf("excluded %q, want %q", got, want)
	}
}

func addLink(t *testing.T, body string, ref changeset.Ref) string {
	t.Helper()
	ed, err := changeset.AddDependsOn(body, "o", []changeset.Ref{ref})
	if err != nil {
		t.Fatal(err)
	}
	return ed.Body
}
