package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v88/github"
)

func TestTokenScoping(t *testing.T) {
	s := start(t)
	seed(t, s)
	if err := s.CreateRepo("acme/secret", RepoOptions{Private: true}); err != nil {
		t.Fatal(err)
	}
	s.AddToken("tok-all", Token{Login: "bot"})
	s.AddToken("tok-app", Token{Login: "narrow", Repos: []string{"acme/app"}})
	ctx := t.Context()

	if _, _, err := client(t, s, "").Repositories.Get(ctx, "acme", "app"); !isStatus(err, 401) {
		t.Errorf("no token: %v, want 401", err)
	}
	if _, _, err := client(t, s, "wrong").Repositories.Get(ctx, "acme", "app"); !isStatus(err, 401) {
		t.Errorf("unknown token: %v, want 401", err)
	}
	if _, _, err := client(t, s, "tok-app").Repositories.Get(ctx, "acme", "app"); err != nil {
		t.Errorf("token on its repo: %v", err)
	}
	_, _, err := client(t, s, "tok-app").Repositories.Get(ctx, "acme", "secret")
	if !isStatus(err, 404) || !strings.Contains(err.Error(), "Not Found") {
		t.Errorf("token outside its repos: %v, want 404 Not Found", err)
	}
	if r := must[*github.Repository](t)(client(t, s, "tok-all").Repositories.Get(ctx, "acme", "secret")); !r.GetPrivate() {
		t.Error("acme/secret should be private")
	}
	// Comments are made as the token's login.
	n := openPR(t, s)
	c := must[*github.IssueComment](t)(client(t, s, "tok-all").Issues.CreateComment(ctx, "acme", "app", n, &github.IssueComment{Body: github.String("hi")}))
	if c.GetUser().GetLogin() != "bot" {
		t.Errorf("comment author = %q, want bot", c.GetUser().GetLogin())
	}
}

func TestCollaboratorPermission(t *testing.T) {
	s := start(t)
	seed(t, s)
	s.SetPermission("acme/app", "maint", "maintain")
	s.SetPermission("acme/app", "tri", "triage")
	s.SetPermission("acme/app", "outsider", "none")
	gh := client(t, s, "")
	for _, tc := range []struct{ user, permission, role string }{
		{"acme", "admin", "admin"},
		{"maint", "write", "maintain"},
		{"tri", "read", "triage"},
		{"outsider", "none", ""},
	} {
		p, _, err := gh.Repositories.GetPermissionLevel(t.Context(), "acme", "app", tc.user)
		if err != nil {
			t.Errorf("%s: %v", tc.user, err)
			continue
		}
		if p.GetPermission() != tc.permission || p.GetUser().GetLogin() != tc.user {
			t.Errorf("%s: permission %q, want %q", tc.user, p.GetPermission(), tc.permission)
		}
	}
	// A login GitHub has never seen does not exist.
	if _, _, err := gh.Repositories.GetPermissionLevel(t.Context(), "acme", "app", "ghost"); !isStatus(err, 404) {
		t.Errorf("unknown user: %v, want 404", err)
	}
}

func TestGitHubAppInstallationTokens(t *testing.T) {
	s := start(t)
	seed(t, s)
	if err := s.CreateRepo("other/x", RepoOptions{}); err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s.AddApp(7, "workspace-bot", &key.PublicKey)
	s.AddInstallation(Installation{ID: 42, AppID: 7, Account: "acme"})
	s.AddToken("pat", Token{Login: "alice"})
	ctx := t.Context()

	atr := ghinstallation.NewAppsTransportFromPrivateKey(http.DefaultTransport, 7, key)
	atr.BaseURL = strings.TrimSuffix(s.APIURL(), "/")
	appClient := clientWith(t, s, &http.Client{Transport: atr})
	inst := must[*github.Installation](t)(appClient.Apps.GetRepositoryInstallation(ctx, "acme", "app"))
	if inst.GetID() != 42 || inst.GetAccount().GetLogin() != "acme" {
		t.Errorf("installation = %d %s", inst.GetID(), inst.GetAccount().GetLogin())
	}
	if _, _, err := appClient.Apps.GetRepositoryInstallation(ctx, "other", "x"); !isStatus(err, 404) {
		t.Errorf("repo without installation: %v, want 404", err)
	}

	itr := ghinstallation.NewFromAppsTransport(atr, 42)
	itr.BaseURL = atr.BaseURL
	gh := clientWith(t, s, &http.Client{Transport: itr})
	sha := s.PR("acme/app", openPR(t, s)).HeadSHA
	run := must[*github.CheckRun](t)(gh.Checks.CreateCheckRun(ctx, "acme", "app", github.CreateCheckRunOptions{Name: "workspace/integration", HeadSHA: sha}))
	if run.GetApp().GetID() != 7 || run.GetApp().GetSlug() != "workspace-bot" {
		t.Errorf("check run app = %+v", run.GetApp())
	}
	c := must[*github.IssueComment](t)(gh.Issues.CreateComment(ctx, "acme", "app", 1, &github.IssueComment{Body: github.String("summary")}))
	if c.GetUser().GetLogin() != "workspace-bot[bot]" || c.GetUser().GetType() != "Bot" {
		t.Errorf("bot comment by %q (%s)", c.GetUser().GetLogin(), c.GetUser().GetType())
	}
	// The installation covers acme's repositories only.
	if _, _, err := gh.Repositories.Get(ctx, "other", "x"); !isStatus(err, 404) {
		t.Errorf("repo outside the installation: %v, want 404", err)
	}

	// The App's bot has no /user; its login is the App's slug + "[bot]".
	if _, _, err := gh.Users.Get(ctx, ""); !isStatus(err, 403) {
		t.Errorf("GET /user with an installation token: %v, want 403", err)
	}
	if app := must[*github.App](t)(appClient.Apps.Get(ctx, "")); app.GetSlug()+"[bot]" != c.GetUser().GetLogin() {
		t.Errorf("GET /app slug %q, comments by %q", app.GetSlug(), c.GetUser().GetLogin())
	}
	if u := must[*github.User](t)(client(t, s, "pat").Users.Get(ctx, "")); u.GetLogin() != "alice" {
		t.Errorf("GET /user with alice's token: %q", u.GetLogin())
	}
	if _, _, err := client(t, s, "").Users.Get(ctx, ""); !isStatus(err, 401) {
		t.Errorf("GET /user without credentials: %v, want 401", err)
	}

	// A JWT signed by another key is refused.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	bad := ghinstallation.NewAppsTransportFromPrivateKey(http.DefaultTransport, 7, other)
	bad.BaseURL = atr.BaseURL
	badClient := clientWith(t, s, &http.Client{Transport: bad})
	if _, _, err := badClient.Apps.CreateInstallationToken(ctx, 42, nil); !isStatus(err, 401) {
		t.Errorf("JWT with the wrong key: %v, want 401", err)
	}
	// A token is not a JWT.
	if _, _, err := client(t, s, "pat").Apps.CreateInstallationToken(ctx, 42, nil); !isStatus(err, 401) {
		t.Errorf("personal token on an App endpoint: %v, want 401", err)
	}
	// A token narrowed to one repository by name.
	jwt, err := SignJWT(7, key)
	if err != nil {
		t.Fatal(err)
	}
	tok := must[*github.InstallationToken](t)(client(t, s, jwt).Apps.CreateInstallationToken(ctx, 42, &github.InstallationTokenOptions{Repositories: []string{"app"}}))
	if !strings.HasPrefix(tok.GetToken(), "ghs_") || len(tok.Repositories) != 1 {
		t.Errorf("narrowed token = %q with %d repos", tok.GetToken(), len(tok.Repositories))
	}
}
