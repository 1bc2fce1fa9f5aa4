package gh

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// world is the emulator with a token that sees every repository.
type world struct {
	srv   *githubtest.Server
	stats *ghclient.Stats
}

const fullToken = "full-access-token"

func newWorld(t testing.TB) *world {
	t.Helper()
	s, err := githubtest.Start(githubtest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.AddToken(fullToken, githubtest.Token{Login: "bot"})
	return &world{srv: s, stats: ghclient.NewStats()}
}

// client builds the real client stack for token, with a cache under dir
// ("" keeps it in memory).
func (w *world) client(t testing.TB, token, cacheDir string) *Client {
	t.Helper()
	f, err := ghclient.New(ghclient.Options{APIURL: w.srv.APIURL(), Token: token, CacheDir: cacheDir, Observer: w.stats, RetryBase: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Client()
	if err != nil {
		t.Fatal(err)
	}
	return New(c)
}

// repo creates owner/name with one commit on its default branch.
func (w *world) repo(t testing.TB, full string, opts githubtest.RepoOptions) string {
	t.Helper()
	if err := w.srv.CreateRepo(full, opts); err != nil {
		t.Fatal(err)
	}
	if opts.ForkOf != "" {
		return ""
	}
	branch := opts.DefaultBranch
	if branch == "" {
		branch = "main"
	}
	sha, err := w.srv.Commit(full, branch, map[string]string{"README.md": full + "\n"}, "initial")
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

// pr pushes a commit to branch of headRepo (or repo) and opens a PR.
func (w *world) pr(t testing.TB, n githubtest.NewPR) int {
	t.Helper()
	head := n.HeadRepo
	if head == "" {
		head = n.Repo
	}
	if _, err := w.srv.Commit(head, n.Head, map[string]string{n.Head + ".txt": n.Head + "\n"}, "work on "+n.Head); err != nil {
		t.Fatal(err)
	}
	num, err := w.srv.OpenPR(n)
	if err != nil {
		t.Fatal(err)
	}
	return num
}

func rsaKey(t testing.TB) (*rsa.PrivateKey, []byte) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}
