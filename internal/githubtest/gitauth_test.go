package githubtest

import (
	"net/url"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

func TestPrivateRepositoryCloneNeedsAToken(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, repo := range []string{"acme/secret", "acme/other"} {
		if err := s.CreateRepo(repo, RepoOptions{Private: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Commit(repo, "main", map[string]string{"README": "hidden\n"}, "first"); err != nil {
			t.Fatal(err)
		}
	}
	s.AddToken("ghp_reader", Token{Login: "reader", Repos: []string{"acme/secret"}})
	withToken := func(repo, tok string) string {
		u, _ := url.Parse(s.GitURL(repo))
		u.User = url.UserPassword("x-access-token", tok)
		return u.String()
	}
	clone := func(u string) error {
		_, err := gitfixture.Git(t.TempDir(), "-c", "credential.helper=", "clone", "--quiet", u, "dst")
		return err
	}
	if err := clone(s.GitURL("acme/secret")); err == nil {
		t.Error("an anonymous clone of a private repository succeeded")
	}
	if err := clone(withToken("acme/secret", "ghp_wrong")); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("a bad token: %v, want repository not found", err)
	}
	if err := clone(withToken("acme/other", "ghp_reader")); err == nil {
		t.Error("a token without access to the repository cloned it")
	}
	if err := clone(withToken("acme/secret", "ghp_reader")); err != nil {
		t.Errorf("a token with access could not clone: %v", err)
	}
}
