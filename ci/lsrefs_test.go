package ci

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitauth"
	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

// One protocol v2 request answers what git ls-remote does: the refs
// asked for and no longer name under the same prefix, annotated tags as
// their tag object, HEAD and the branch it points at; a server that
// does not speak it is an error (and lsRemote then asks git).
func TestLsRefsOverHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.repo("alpha", map[string]string{"a.txt": "1\n"})
	f.commit("alpha", "main-2", "", map[string]string{"b.txt": "2\n"})
	f.commit("alpha", "dev", "", map[string]string{"c.txt": "3\n"})
	if _, err := gitfixture.Git(f.bare("alpha"), "tag", "-a", "-m", "v1", "v1", "dev"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	names := []string{"refs/heads/main", "refs/tags/main", "refs/heads/dev", "refs/tags/v1", "refs/heads/missing"}
	got, head, err := lsRefsHTTP(ctx, "", f.url("alpha"), true, names)
	if err != nil {
		t.Fatal(err)
	}
	out, err := gitWithEnv(ctx, "", gitauth.Env(""), append([]string{"ls-remote", "--symref", "--end-of-options", f.url("alpha"), "HEAD"}, names...)...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	wantHead := ""
	for _, line := range strings.Split(out, "\n") {
		left, name, _ := strings.Cut(line, "\t")
		if target, ok := strings.CutPrefix(left, "ref: "); ok {
			wantHead = strings.TrimPrefix(target, "refs/heads/")
			continue
		}
		want[name] = left
	}
	delete(want, "refs/tags/v1^{}")
	if !maps.Equal(got, want) || head != wantHead || len(got) != 4 {
		t.Errorf("ls-refs: %v head %q\ngit ls-remote: %v head %q", got, head, want, wantHead)
	}

	before := f.requests.Load()
	if _, _, err := lsRefsHTTP(ctx, "", f.url("alpha"), false, []string{"refs/heads/main"}); err != nil || f.requests.Load()-before != 1 {
		t.Errorf("%v, %d requests", err, f.requests.Load()-before)
	}

	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>sign in</html>"))
	}))
	defer html.Close()
	if _, _, err := lsRefsHTTP(ctx, "", html.URL+"/o/alpha.git", true, nil); err == nil {
		t.Error("a login page was read as refs")
	}
}

// The mirror's refs read from its files are what git for-each-ref says,
// packed or loose, a loose one winning.
func TestMirrorRefsReadLikeGit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.repo("alpha", map[string]string{"a.txt": "1\n"})
	f.commit("alpha", "dev", "", map[string]string{"c.txt": "3\n"})
	gitfixture.Git(f.bare("alpha"), "tag", "-a", "-m", "v1", "v1", "dev")
	gitfixture.Git(f.bare("alpha"), "pack-refs", "--all")
	f.commit("alpha", "dev", "", map[string]string{"c.txt": "4\n"}) // loose again, newer than its packed line
	m := &mirror{dir: f.bare("alpha")}
	names := []string{"refs/heads/main", "refs/heads/dev", "refs/tags/v1", "refs/tags/main", "refs/heads/nothing/below"}
	got, ok := m.readRefs(names)
	if !ok {
		t.Fatal("plain refs not read")
	}
	out, _ := gitfixture.Git(m.dir, append([]string{"for-each-ref", "--format=%(objectname) %(refname)", "--"}, names...)...)
	want := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if sha, name, ok := strings.Cut(line, " "); ok {
			want[name] = sha
		}
	}
	if !maps.Equal(got, want) || len(got) != 3 {
		t.Errorf("read %v\ngit %v", got, want)
	}
	if _, ok := m.readRefs([]string{"refs/heads/../../config"}); ok {
		t.Error("a name leaving refs/ was read")
	}
}
