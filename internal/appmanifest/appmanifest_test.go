package appmanifest

import (
	"context"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/internal/ghclient"
	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// The manifest subscribes to exactly the events the bot handles and asks
// for exactly the permissions its calls need (internal/gh checks those
// against the calls, one by one).
func TestManifestIsWhatTheBotUses(t *testing.T) {
	m, err := New(Options{PublicURL: "https://bot.example.com/"}, "http://127.0.0.1:1/callback")
	if err != nil {
		t.Fatal(err)
	}
	events := bot.Events()
	slices.Sort(events)
	if !reflect.DeepEqual(m.DefaultEvents, events) {
		t.Errorf("default_events = %v, want the handled events %v", m.DefaultEvents, events)
	}
	want := map[string]string{}
	for _, p := range gh.AppPermissions() {
		want[p.Name] = p.Access
	}
	if !reflect.DeepEqual(m.DefaultPermissions, want) {
		t.Errorf("default_permissions = %v, want %v", m.DefaultPermissions, want)
	}
	if _, ok := m.DefaultPermissions["workflows"]; ok {
		t.Error("workflows is asked for only with Options.Workflows")
	}
	if m.HookAttributes.URL != "https://bot.example.com/webhook" || !m.HookAttributes.Active || m.Public || m.Name != DefaultName ||
		m.URL != "https://bot.example.com" || m.RedirectURL != "http://127.0.0.1:1/callback" {
		t.Errorf("manifest = %+v", m)
	}
	m, err = New(Options{PublicURL: "https://bot.example.com", Org: "Acme", Workflows: true}, "http://127.0.0.1:1/callback")
	if err != nil {
		t.Fatal(err)
	}
	if m.DefaultPermissions["workflows"] != "write" || m.Name != "workspace-bot-acme" {
		t.Errorf("with --org and --workflows: name %q, permissions %v", m.Name, m.DefaultPermissions)
	}
}

func TestOptionsRefused(t *testing.T) {
	dir := t.TempDir()
	taken := FilesIn(filepath.Join(dir, "taken"))
	if err := os.MkdirAll(taken.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(taken.PrivateKey, []byte("old key"), 0o600); err != nil {
		t.Fatal(err)
	}
	convert := func(context.Context, string) (*gh.NewApp, error) { return nil, errors.New("not called") }
	for _, tc := range []struct {
		o    FlowOptions
		want string
	}{
		{FlowOptions{Options: Options{}}, "--public-url is required"},
		{FlowOptions{Options: Options{PublicURL: "bot.example.com"}}, "--public-url"},
		{FlowOptions{Options: Options{PublicURL: "https://u:p@bot.example.com"}}, "without credentials"},
		{FlowOptions{Options: Options{PublicURL: "https://bot.example.com", Org: "a/b"}}, "--org"},
		{FlowOptions{Options: Options{PublicURL: "https://bot.example.com", Name: strings.Repeat("x", 35)}}, "--name"},
		{FlowOptions{Options: Options{PublicURL: "https://bot.example.com"}, Listen: "0.0.0.0:0"}, "stays on this machine"},
		{FlowOptions{Options: Options{PublicURL: "https://bot.example.com"}, Listen: ":8080"}, "stays on this machine"},
		{FlowOptions{Options: Options{PublicURL: "https://bot.example.com"}, GitHubURL: "github.com"}, "--github-url"},
		{FlowOptions{Options: Options{PublicURL: "https://bot.example.com"}, Files: taken}, "never overwrites"},
	} {
		o := tc.o
		o.Convert = convert
		if o.Files.Dir == "" {
			o.Files = FilesIn(filepath.Join(dir, "new"))
		}
		_, err := Create(t.Context(), o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error saying %q", tc.o, err, tc.want)
		}
	}
	if data, _ := os.ReadFile(taken.PrivateKey); string(data) != "old key" {
		t.Errorf("the existing key was changed: %q", data)
	}
}

var (
	actionRe   = regexp.MustCompile(`<form action="([^"]+)" method="post">`)
	manifestRe = regexp.MustCompile(`name="manifest" value="([^"]+)"`)
)

// submit does what a browser does with the page at pageURL: it loads it,
// posts its form, and follows GitHub's redirect back.
func submit(t *testing.T, pageURL string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("page CSP = %q", csp)
	}
	action, manifest := actionRe.FindSubmatch(page), manifestRe.FindSubmatch(page)
	if action == nil || manifest == nil {
		t.Fatalf("no manifest form on the page:\n%s", page)
	}
	resp, err = http.PostForm(html.UnescapeString(string(action[1])), url.Values{"manifest": {html.UnescapeString(string(manifest[1]))}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func TestCreateAgainstTheEmulator(t *testing.T) {
	srv, err := githubtest.Start(githubtest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	api, err := ghclient.Anonymous(ghclient.Options{APIURL: srv.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	files := FilesIn(filepath.Join(t.TempDir(), "creds"))
	ready := make(chan string, 1)
	type result struct {
		c   *Created
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := Create(t.Context(), FlowOptions{
			Options:   Options{PublicURL: "https://bot.example.com", Org: "acme"},
			GitHubURL: srv.URL(), Files: files, Ready: func(u string) { ready <- u },
			Convert: func(ctx context.Context, code string) (*gh.NewApp, error) { return gh.ConvertManifest(ctx, api, code) },
		})
		done <- result{c, err}
	}()
	pageURL := <-ready
	if u, _ := url.Parse(pageURL); u.Hostname() != "127.0.0.1" {
		t.Errorf("page served on %s, want 127.0.0.1", pageURL)
	}
	// An answer that does not carry the page's state is refused, and
	// the flow goes on.
	resp, err := http.Get(pageURL + "callback?code=forged&state=guess")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forged callback: %s, want 400", resp.Status)
	}

	resp, body := submit(t, pageURL)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "is made") {
		t.Fatalf("after GitHub: %s\n%s", resp.Status, body)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	apps := srv.Apps()
	if len(apps) != 1 {
		t.Fatalf("emulator Apps = %+v", apps)
	}
	app := apps[0]
	if res.c.ID != app.ID || res.c.Owner != "acme" || res.c.InstallURL != srv.URL()+"/apps/"+app.Slug+"/installations/new" {
		t.Errorf("created = %+v, emulator App %+v", res.c, app)
	}
	if app.HookURL != "https://bot.example.com/webhook" || app.Public || !reflect.DeepEqual(app.Events, Events()) {
		t.Errorf("emulator App = %+v", app)
	}
	for path, want := range map[string]string{files.AppID: strconv.FormatInt(app.ID, 10) + "\n", files.WebhookSecret: app.WebhookSecret + "\n", files.PrivateKey: "-----BEGIN RSA PRIVATE KEY-----"} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", path, info.Mode().Perm())
		}
		data, _ := os.ReadFile(path)
		if !strings.HasPrefix(string(data), want) {
			t.Errorf("%s holds %.40q, want %.40q...", path, data, want)
		}
	}
	if strings.Contains(body, app.WebhookSecret) {
		t.Error("the result page shows the webhook secret")
	}
}

// A code GitHub will not exchange ends the flow with GitHub's reason, on
// the page and from Create, and writes nothing.
func TestCreateFailsWhenTheExchangeFails(t *testing.T) {
	files := FilesIn(filepath.Join(t.TempDir(), "creds"))
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		_, err := Create(t.Context(), FlowOptions{
			Options: Options{PublicURL: "https://bot.example.com"}, Files: files, Ready: func(u string) { ready <- u },
			Convert: func(context.Context, string) (*gh.NewApp, error) {
				return nil, errors.New("GitHub does not know the App's code")
			},
		})
		done <- err
	}()
	pageURL := <-ready
	resp, err := http.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action := actionRe.FindSubmatch(page)
	if action == nil {
		t.Fatalf("no form on the page:\n%s", page)
	}
	formURL, err := url.Parse(html.UnescapeString(string(action[1])))
	if err != nil || formURL.Host != "github.com" || formURL.Path != "/settings/apps/new" || len(formURL.Query().Get("state")) < 32 {
		t.Fatalf("form posts to %q, want github.com's /settings/apps/new with a long random state", action[1])
	}
	resp, err = http.Get(pageURL + "callback?code=abc&state=" + formURL.Query().Get("state"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "does not know the App") {
		t.Errorf("callback: %s\n%s", resp.Status, body)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "does not know the App") {
		t.Errorf("Create: %v, want GitHub's reason", err)
	}
	if _, err := os.Stat(files.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credentials directory made without credentials: %v", err)
	}
}
