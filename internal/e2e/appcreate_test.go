package e2e

import (
	"bufio"
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/internal/phony"
)

var (
	pageURLRe  = regexp.MustCompile(`Open (http://127\.0\.0\.1:\d+/) in a browser`)
	formRe     = regexp.MustCompile(`<form action="([^"]+)" method="post">`)
	manifestRe = regexp.MustCompile(`name="manifest" value="([^"]+)"`)
)

// browse does what a person does with app create's page: loads it, posts
// its form to GitHub (the emulator) and follows GitHub back to the page.
func browse(t *testing.T, pageURL string) string {
	t.Helper()
	resp, err := http.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	action, manifest := formRe.FindSubmatch(page), manifestRe.FindSubmatch(page)
	if action == nil || manifest == nil {
		t.Fatalf("no manifest form on %s:\n%s", pageURL, page)
	}
	resp, err = http.PostForm(html.UnescapeString(string(action[1])), url.Values{"manifest": {html.UnescapeString(string(manifest[1]))}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("back from GitHub: %s\n%s", resp.Status, body)
	}
	return string(body)
}

// `app create` makes the App on the emulator, and `serve` run with the
// command it printed acts as that App: it takes webhooks signed with the
// secret it wrote, mints installation tokens with the key it wrote, and
// does the whole loop with no more than the manifest's permissions (the
// emulator holds the App's tokens to them).
func TestAppCreateThenServe(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{noServe: true, private: true})
	ms := w.openFeature("made-app", nil)
	bin := buildBot(t)
	addr := freeAddr(t)
	publicURL := "http://" + addr
	dir := filepath.Join(t.TempDir(), "creds")

	create := exec.Command(bin, "app", "create", "--github-url", w.gh.URL(), "--org", owner, "--public-url", publicURL, "--dir", dir)
	create.Env = append(os.Environ(), "GITHUB_API_URL=", "GITHUB_SERVER_URL=")
	stdout, err := create.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	create.Stderr = stderr
	if err := create.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if create.ProcessState == nil {
			create.Process.Kill()
			create.Wait()
		}
	})
	lines := bufio.NewScanner(stdout)
	var out strings.Builder
	pageURL := ""
	for pageURL == "" && lines.Scan() {
		out.WriteString(lines.Text() + "\n")
		if m := pageURLRe.FindStringSubmatch(lines.Text()); m != nil {
			pageURL = m[1]
		}
	}
	if pageURL == "" {
		t.Fatalf("app create printed no page to open:\n%s%s", out.String(), stderr.String())
	}
	if result := browse(t, pageURL); !strings.Contains(result, "is made") {
		t.Fatalf("result page:\n%s", result)
	}
	for lines.Scan() {
		out.WriteString(lines.Text() + "\n")
	}
	if err := create.Wait(); err != nil {
		t.Fatalf("app create: %v\n%s%s", err, out.String(), stderr.String())
	}

	apps := w.gh.Apps()
	if len(apps) != 1 {
		t.Fatalf("emulator Apps = %+v", apps)
	}
	app := apps[0]
	if app.HookURL != publicURL+"/webhook" || app.Owner != owner {
		t.Errorf("App %+v: want its webhook at %s/webhook, owned by %s", app, publicURL, owner)
	}
	secret, err := os.ReadFile(filepath.Join(dir, "webhook-secret"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(dir, "private-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	printed := out.String() + stderr.String()
	if strings.Contains(printed, strings.TrimSpace(string(secret))) || strings.Contains(printed, strings.Split(string(key), "\n")[1]) {
		t.Errorf("app create printed a secret:\n%s", printed)
	}
	for _, name := range []string{"app-id", "private-key.pem", "webhook-secret"} {
		if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", name, info, err)
		}
	}
	if !strings.Contains(printed, w.gh.URL()+"/apps/"+app.Slug+"/installations/new") {
		t.Errorf("no install link in:\n%s", printed)
	}
	var serveArgs []string
	for _, line := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "workspace-bot serve "); ok {
			serveArgs = strings.Fields(rest)
		}
	}
	if serveArgs == nil {
		t.Fatalf("no serve command in:\n%s", out.String())
	}

	// Installed as a person would from the link, on every sibling.
	for id, repos := range installs {
		w.gh.AddInstallation(githubtest.Installation{ID: id, AppID: app.ID, Account: owner, Repos: repos})
	}
	// Only what app create wrote: no token, no other secret.
	w.serveEnv = []string{"WORKSPACE_BOT_WEBHOOK_SECRET=", "GITHUB_TOKEN="}
	logs := &syncBuffer{}
	w.startServe(bin, addr, t.TempDir(), logs, serveArgs...)

	body := w.prAppPayload("opened", "acme/lib", ms[1].n)
	resp, err := phony.Send(context.Background(), w.url+"/webhook", "pull_request", "", body, "not-the-secret")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a delivery signed with another secret: %d, want 401", resp.StatusCode)
	}
	resp, err = phony.Send(context.Background(), w.url+"/webhook", "pull_request", "", body, strings.TrimSpace(string(secret)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("a delivery signed with the written secret: %d, want 202\n%s", resp.StatusCode, logs.String())
	}
	heads := map[string]string{}
	for _, m := range ms {
		heads[m.repo] = w.head(m.repo, m.n)
	}
	done := w.watchChecks(heads, 1, map[string][]string{})
	for _, m := range ms {
		if cr := done[m.repo]; cr.Conclusion != "success" {
			t.Errorf("%s: check run %+v, want success\n%s", m.repo, cr, logs.String())
		}
		w.waitFor("the summary on "+m.repo, func() bool { return len(w.summaries(m.repo, m.n)) > 0 })
		if sums := w.summaries(m.repo, m.n); sums[0].User != app.Slug+"[bot]" {
			t.Errorf("%s: summary by %s, want the App's bot %s[bot]", m.repo, sums[0].User, app.Slug)
		}
	}
	if used := w.gh.PermissionsUsed(app.ID); used["checks"] != "write" || used["issues"] != "write" {
		t.Errorf("the App's tokens used %v: the loop should have written check runs and comments through them", used)
	}
}
