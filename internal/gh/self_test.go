package gh

import (
	"context"
	"testing"

	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// The login the bot acts as, looked up once: its comments are never read
// as commands.
func TestSelf(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	login := func(o ghclient.Options) (string, error) {
		t.Helper()
		o.APIURL = w.srv.APIURL()
		f, err := ghclient.New(o)
		if err != nil {
			t.Fatal(err)
		}
		return Self(f)(ctx)
	}
	if got, err := login(ghclient.Options{Token: fullToken}); err != nil || got != "bot" {
		t.Errorf("a token's login: %q, %v; want bot", got, err)
	}
	key, pemKey := rsaKey(t)
	w.srv.AddApp(77, "workspace-bot", &key.PublicKey)
	if got, err := login(ghclient.Options{AppID: 77, AppPrivateKey: pemKey}); err != nil || got != "workspace-bot[bot]" {
		t.Errorf("an App's login: %q, %v; want workspace-bot[bot]", got, err)
	}
	if _, err := login(ghclient.Options{Token: "not-registered"}); err == nil {
		t.Error("a bad token looked up a login")
	}

	// GitHub Actions' token has no /user: no login, no error.
	open, err := githubtest.Start(githubtest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	f, err := ghclient.New(ghclient.Options{APIURL: open.APIURL(), Token: "ghs_actions"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Self(f)(ctx); err != nil || got != "" {
		t.Errorf("GITHUB_TOKEN's login: %q, %v; want none", got, err)
	}
}
