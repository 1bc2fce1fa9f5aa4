package githubtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v88/github"
)

// createApp posts a manifest as a browser would and returns where GitHub
// sent the browser back.
func createApp(t *testing.T, s *Server, path, state string, m map[string]any) *http.Response {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(s.URL()+path+"?state="+url.QueryEscape(state), url.Values{"manifest": {string(raw)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func testManifest() map[string]any {
	return map[string]any{
		"name": "Workspace Bot", "url": "https://bot.example.com",
		"hook_attributes": map[string]any{"url": "https://bot.example.com/webhook"},
		"redirect_url":    "http://127.0.0.1:9/callback", "public": false,
		"default_events":      []string{"pull_request"},
		"default_permissions": map[string]string{"pull_requests": "read"},
	}
}

func TestManifestFlow(t *testing.T) {
	s := start(t)
	seed(t, s)
	ctx := t.Context()
	resp := createApp(t, s, "/organizations/acme/settings/apps/new", "st-1", testManifest())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("form: %s, want 302", resp.Status)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Host != "127.0.0.1:9" || back.Path != "/callback" || back.Query().Get("state") != "st-1" || back.Query().Get("code") == "" {
		t.Fatalf("redirected to %q, want the redirect_url with a code and the state", resp.Header.Get("Location"))
	}
	code := back.Query().Get("code")

	// The conversion needs no credentials, even once tokens exist.
	s.AddToken("someone", Token{Login: "someone"})
	cfg := must[*github.AppConfig](t)(client(t, s, "").Apps.CompleteAppManifest(ctx, code))
	if cfg.GetSlug() != "workspace-bot" || cfg.GetOwner().GetLogin() != "acme" || !strings.Contains(cfg.GetPEM(), "PRIVATE KEY") || cfg.GetWebhookSecret() == "" {
		t.Fatalf("conversion = %+v", cfg)
	}
	if _, _, err := client(t, s, "").Apps.CompleteAppManifest(ctx, code); !isStatus(err, 404) {
		t.Errorf("second use of the code: %v, want 404", err)
	}
	apps := s.Apps()
	if len(apps) != 1 || apps[0].HookURL != "https://bot.example.com/webhook" || apps[0].WebhookSecret != cfg.GetWebhookSecret() ||
		apps[0].Permissions["pull_requests"] != "read" || apps[0].Permissions["metadata"] != "read" {
		t.Fatalf("Apps() = %+v", apps)
	}

	// The key it handed out is the App's, and its installation tokens
	// get what the manifest asked for and no more.
	s.AddInstallation(Installation{ID: 77, AppID: cfg.GetID(), Account: "acme"})
	tr, err := ghinstallation.New(http.DefaultTransport, cfg.GetID(), 77, []byte(cfg.GetPEM()))
	if err != nil {
		t.Fatal(err)
	}
	tr.BaseURL = strings.TrimSuffix(s.APIURL(), "/")
	inst := clientWith(t, s, &http.Client{Transport: tr})
	if _, _, err := inst.PullRequests.List(ctx, "acme", "app", nil); err != nil {
		t.Errorf("pull_requests:read lists PRs: %v", err)
	}
	if _, _, err := inst.Repositories.Get(ctx, "acme", "app"); err != nil {
		t.Errorf("metadata:read is implied: %v", err)
	}
	_, _, _, err = inst.Repositories.GetContents(ctx, "acme", "app", "README.md", nil)
	if !isStatus(err, 403) || !strings.Contains(err.Error(), "Resource not accessible by integration") {
		t.Errorf("contents without the permission: %v, want 403", err)
	}
	if got := s.PermissionsUsed(cfg.GetID()); len(got) != 2 || got["pull_requests"] != "read" || got["metadata"] != "read" {
		t.Errorf("PermissionsUsed = %v", got)
	}
}

func TestManifestRefused(t *testing.T) {
	s := start(t)
	for name, edit := range map[string]func(m map[string]any){
		"event without its permission": func(m map[string]any) { m["default_events"] = []string{"check_run"} },
		"no hook url":                  func(m map[string]any) { m["hook_attributes"] = map[string]any{} },
		"bad level":                    func(m map[string]any) { m["default_permissions"] = map[string]string{"checks": "admin"} },
		"no name":                      func(m map[string]any) { m["name"] = "" },
	} {
		m := testManifest()
		edit(m)
		if resp := createApp(t, s, "/settings/apps/new", "x", m); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: %s, want 422", name, resp.Status)
		}
	}
	if len(s.Apps()) != 0 {
		t.Errorf("refused manifests made Apps: %+v", s.Apps())
	}
}

// Every repository endpoint names the permission it needs, so an App's
// installation tokens are checked on all of them.
func TestEveryRepositoryRouteHasAPermission(t *testing.T) {
	s := start(t)
	for _, rt := range s.routes {
		if strings.HasPrefix(rt.pattern, "/repos/") && !rt.app && rt.perm == "" {
			t.Errorf("%s %s: add it to routePermissions", rt.method, rt.pattern)
		}
	}
}

// Git over HTTPS holds an App's installation tokens to Contents too.
func TestGitNeedsContents(t *testing.T) {
	s := start(t)
	if err := s.CreateRepo("acme/secret", RepoOptions{Private: true}); err != nil {
		t.Fatal(err)
	}
	s.AddToken("admin", Token{Login: "admin"})
	for i, tc := range []struct {
		perms map[string]string
		want  int
	}{
		{map[string]string{"pull_requests": "write"}, http.StatusForbidden},
		{map[string]string{"contents": "read"}, http.StatusOK},
	} {
		appID := int64(100 + i)
		s.SetAppPermissions(appID, tc.perms)
		s.AddInstallation(Installation{ID: appID, AppID: appID, Account: "acme"})
		// An installation token as the App endpoints mint them.
		s.mu.Lock()
		s.st.tokens["ghs_"+itoa(appID)] = &tokenEntry{Token: Token{Login: "app[bot]"}, installID: appID, appID: appID}
		s.mu.Unlock()
		req, _ := http.NewRequest("GET", s.GitURL("acme/secret")+"/info/refs?service=git-upload-pack", nil)
		req.SetBasicAuth("x-access-token", "ghs_"+itoa(appID))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("fetch with %v: %s, want %d", tc.perms, resp.Status, tc.want)
		}
	}
}
