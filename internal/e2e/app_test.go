package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provide-io/workspace-bot/internal/githubtest"
	"github.com/provide-io/workspace-bot/internal/phony"
)

const (
	appID   = 31337
	appSlug = "workspace-bot"
)

// installs are the App's installations, each on some of the siblings, so
// a call made through the wrong one is refused.
var installs = map[int64][]string{4242: {"acme/core", "acme/lib"}, 4243: {"acme/app"}}

func installationOf(t testing.TB, repo string) int64 {
	t.Helper()
	for id, repos := range installs {
		for _, r := range repos {
			if r == repo {
				return id
			}
		}
	}
	t.Fatalf("no installation covers %s", repo)
	return 0
}

// startApp registers a GitHub App with the key and its installations,
// and starts `workspace-bot serve` as that App. It returns a line of the
// key's PEM, which the logs must never show.
func (w *world) startApp(logs *syncBuffer) string {
	w.t.Helper()
	flags, keyLine := w.registerApp()
	w.startServe(buildBot(w.t), freeAddr(w.t), w.t.TempDir(), logs, flags...)
	return keyLine
}

// The App's key: one per test binary, as each world has an emulator of
// its own to register it with (a 2048-bit key takes a while to make).
var (
	appKeyOnce sync.Once
	appKey     *rsa.PrivateKey
	appKeyErr  error
)

// registerApp registers a GitHub App with the key and its
// installations, and returns the serve flags that act as it and a line of
// the key's PEM.
func (w *world) registerApp() (flags []string, keyLine string) {
	w.t.Helper()
	appKeyOnce.Do(func() { appKey, appKeyErr = rsa.GenerateKey(rand.Reader, 2048) })
	key, err := appKey, appKeyErr
	if err != nil {
		w.t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	keyFile := filepath.Join(w.t.TempDir(), "app.pem")
	write(w.t, keyFile, keyPEM)
	w.gh.AddApp(appID, appSlug, &key.PublicKey)
	for id, repos := range installs {
		w.gh.AddInstallation(githubtest.Installation{ID: id, AppID: appID, Account: owner, Repos: repos})
	}
	return []string{"--app-id", strconv.Itoa(appID), "--app-private-key", keyFile}, strings.Split(keyPEM, "\n")[1]
}

// appPayload marks a delivery as coming through the App's installation
// on repo.
func appPayload(t testing.TB, repo string, d phony.Doc) []byte {
	t.Helper()
	if err := phony.Set(d, "installation.id", installationOf(t, repo)); err != nil {
		t.Fatal(err)
	}
	return phony.MustMarshal(d)
}

// prAppPayload is prPayload delivered to the App.
func (w *world) prAppPayload(action, repo string, n int) []byte {
	w.t.Helper()
	d, err := phony.Decode(w.prPayload(action, repo, n))
	if err != nil {
		w.t.Fatal(err)
	}
	return appPayload(w.t, repo, d)
}

// checkRunRerequested is the real check_run fixture: someone pressed
// "Re-run" on our check run on PR n's head.
func (w *world) checkRunRerequested(repo string, n int, checkRunID int64) []byte {
	w.t.Helper()
	d, err := phony.Load(fixtures + "check_run/rerequested.payload.json")
	if err != nil {
		w.t.Fatal(err)
	}
	pr := w.gh.PR(repo, n)
	prJSON := []any{map[string]any{
		"number": n, "url": w.gh.APIURL() + "repos/" + repo + "/pulls/" + itoa(n),
		"head": map[string]any{"ref": pr.HeadRef, "sha": pr.HeadSHA},
		"base": map[string]any{"ref": pr.BaseRef},
	}}
	for path, v := range map[string]any{
		"repository.full_name": repo, "repository.name": strings.SplitN(repo, "/", 2)[1],
		"check_run.id": checkRunID, "check_run.name": ctxName, "check_run.head_sha": pr.HeadSHA,
		"check_run.pull_requests": prJSON, "check_run.check_suite.head_sha": pr.HeadSHA,
		"check_run.check_suite.head_branch": pr.HeadRef, "check_run.check_suite.pull_requests": prJSON,
		"check_run.app.id": appID,
	} {
		if err := phony.Set(d, path, v); err != nil {
			w.t.Fatal(err)
		}
	}
	return appPayload(w.t, repo, d)
}

// checkSuiteRerequested is the real check_suite fixture for "Re-run all
// checks" on sha; its pull_requests stay empty, as GitHub sends them for
// PRs whose head is in another repository.
func (w *world) checkSuiteRerequested(repo, branch, sha string) []byte {
	w.t.Helper()
	d, err := phony.Load(fixtures + "check_suite/rerequested.payload.json")
	if err != nil {
		w.t.Fatal(err)
	}
	for path, v := range map[string]any{
		"repository.full_name": repo, "repository.name": strings.SplitN(repo, "/", 2)[1],
		"check_suite.head_sha": sha, "check_suite.head_branch": branch, "check_suite.pull_requests": []any{},
		"check_suite.app.id": appID,
	} {
		if err := phony.Set(d, path, v); err != nil {
			w.t.Fatal(err)
		}
	}
	return appPayload(w.t, repo, d)
}

// ourChecks are the check runs named for our context on repo@sha, oldest
// first.
func (w *world) ourChecks(repo, sha string) []githubtest.CheckRun {
	var out []githubtest.CheckRun
	for _, cr := range w.gh.CheckRuns(repo, sha) {
		if cr.Name == ctxName {
			out = append(out, cr)
		}
	}
	return out
}

// watchChecks waits until every head has want check runs of ours, the
// newest completed, and returns those newest runs. Every check run it
// sees before completion is recorded in early (repo -> statuses), to show
// the run was reported as queued or in progress first.
func (w *world) watchChecks(heads map[string]string, want int, early map[string][]string) map[string]githubtest.CheckRun {
	w.t.Helper()
	deadline := patience(w.t)
	for {
		done := map[string]githubtest.CheckRun{}
		for repo, sha := range heads {
			crs := w.ourChecks(repo, sha)
			if len(crs) < want {
				continue
			}
			cr := crs[want-1]
			if cr.Status != "completed" {
				if st := early[repo]; len(st) == 0 || st[len(st)-1] != cr.Status {
					early[repo] = append(early[repo], cr.Status)
				}
				continue
			}
			done[repo] = cr
		}
		if len(done) == len(heads) {
			return done
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("gave up waiting for check run %d on every head; done %v, seen before completion %v", want, done, early)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// runIDOf is the run id at the end of a details URL that must point at
// the service's run page.
func (w *world) runIDOf(repo string, cr githubtest.CheckRun) string {
	w.t.Helper()
	id, ok := strings.CutPrefix(cr.DetailsURL, w.url+"/runs/")
	if _, err := strconv.ParseInt(id, 10, 64); !ok || err != nil {
		w.t.Fatalf("%s: check run details_url %q, want %s/runs/{id}", repo, cr.DetailsURL, w.url)
	}
	resp, err := http.Get(cr.DetailsURL)
	if err != nil {
		w.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		w.t.Fatalf("GET %s: %d", cr.DetailsURL, resp.StatusCode)
	}
	return id
}

func TestAppReportsWithCheckRunsAndReruns(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOptions{noServe: true})
	ms := w.openFeature("app-feature", nil)
	logs := &syncBuffer{}
	keyLine := w.startApp(logs)

	heads := map[string]string{}
	for _, m := range ms {
		heads[m.repo] = w.head(m.repo, m.n)
	}
	w.send("pull_request", w.prAppPayload("opened", "acme/lib", ms[1].n))
	early := map[string][]string{}
	first := w.watchChecks(heads, 1, early)
	runID := ""
	for _, m := range ms {
		cr := first[m.repo]
		if cr.Conclusion != "success" || !strings.HasPrefix(cr.Summary, "passed") {
			t.Errorf("%s: check run %+v, want completed success", m.repo, cr)
		}
		if len(early[m.repo]) == 0 {
			t.Errorf("%s: the check run was never queued or in progress before it completed", m.repo)
		}
		for _, st := range early[m.repo] {
			if st != "queued" && st != "in_progress" {
				t.Errorf("%s: check run status %q before completion", m.repo, st)
			}
		}
		id := w.runIDOf(m.repo, cr)
		if runID != "" && id != runID {
			t.Errorf("%s: run %s, others run %s: one changeset, one run", m.repo, id, runID)
		}
		runID = id
		w.waitFor("the summary on "+m.repo, func() bool { return len(w.summaries(m.repo, m.n)) > 0 })
		sums := w.summaries(m.repo, m.n)
		if len(sums) != 1 || sums[0].User != appSlug+"[bot]" || !strings.Contains(sums[0].Body, "passed") ||
			!strings.Contains(sums[0].Body, "acme/core#1") || !strings.Contains(sums[0].Body, "acme/app#1") {
			t.Fatalf("%s: summaries %+v", m.repo, sums)
		}
	}
	t.Logf("check runs seen before completion: %v", early)

	// "Re-run" on app's check run runs the whole changeset again: a new
	// run, and a new check run on every head (a completed one is never
	// reopened).
	app := ms[2]
	w.send("check_run", w.checkRunRerequested(app.repo, app.n, first[app.repo].ID))
	second := w.watchChecks(heads, 2, map[string][]string{})
	rerunID := ""
	for _, m := range ms {
		cr := second[m.repo]
		if cr.Conclusion != "success" {
			t.Errorf("%s: re-run check run %+v", m.repo, cr)
		}
		id := w.runIDOf(m.repo, cr)
		if id == runID || (rerunID != "" && id != rerunID) {
			t.Errorf("%s: re-run is run %s (first run %s, others %s)", m.repo, id, runID, rerunID)
		}
		rerunID = id
	}

	// A push that breaks lib fails the changeset on every member's new
	// head; "Re-run all checks" on lib's new head, whose payload names no
	// PR, finds the PR by its head and fails again.
	// Its check leaves a JUnit report: the failing test is named in the
	// summary, on the run page, and on lib's check run at the line of
	// lib's file.
	w.push("acme/lib", "app-feature", map[string]string{"check.sh": `cat > "$WORKSPACE_REPORTS/lib.xml" <<'EOF'
<testsuite><testcase classname="lib" name="test_ok"/><testcase classname="lib" name="test_answer"><failure message="expected 42, got 41 @acme/security">../lib/check.sh:3: AssertionError</failure></testcase></testsuite>
EOF
echo lib is broken: expected 42, got 41
exit 1
`})
	heads["acme/lib"] = w.head("acme/lib", ms[1].n)
	w.send("pull_request", w.prAppPayload("synchronize", "acme/lib", ms[1].n))
	third := w.watchChecks(map[string]string{"acme/lib": heads["acme/lib"]}, 1, map[string][]string{})
	third["acme/core"] = w.watchChecks(map[string]string{"acme/core": heads["acme/core"]}, 3, map[string][]string{})["acme/core"]
	third["acme/app"] = w.watchChecks(map[string]string{"acme/app": heads["acme/app"]}, 3, map[string][]string{})["acme/app"]
	for _, m := range ms {
		cr := third[m.repo]
		if cr.Conclusion != "failure" || !strings.Contains(cr.Summary, "sh check-all.sh") {
			t.Errorf("%s: check run after the breaking push %+v, want failure at sh check-all.sh", m.repo, cr)
		}
		w.waitFor("the failed summary on "+m.repo, func() bool {
			sums := w.summaries(m.repo, m.n)
			return len(sums) == 1 && strings.Contains(sums[0].Body, "expected 42, got 41")
		})
	}
	for _, m := range ms {
		ann := third[m.repo].Annotations
		if m.repo != "acme/lib" {
			if len(ann) != 0 {
				t.Errorf("%s: annotations for another repository's file: %+v", m.repo, ann)
			}
			continue
		}
		if len(ann) != 1 || ann[0].Path != "check.sh" || ann[0].StartLine != 3 || ann[0].Level != "failure" ||
			!strings.HasPrefix(ann[0].Title, "lib::test_answer") || !strings.Contains(ann[0].RawDetails, "AssertionError") {
			t.Errorf("acme/lib: annotations %+v, want the failing test at check.sh:3", ann)
		}
	}
	for _, m := range ms {
		sum := w.summaries(m.repo, m.n)[0].Body
		if !strings.Contains(sum, "**Tests:** 1 passed, 1 failed") ||
			!strings.Contains(sum, "- workspace: `lib::test_answer` at `check.sh:3` in lib: expected 42, got 41 @\u200dacme/security") {
			t.Errorf("%s: the summary does not name the failing test:\n%s", m.repo, sum)
		}
	}
	failedID := w.runIDOf("acme/lib", third["acme/lib"])
	if code, page := w.page("/runs/" + failedID); code != http.StatusOK || !strings.Contains(page, "<code>lib::test_answer</code>") || !strings.Contains(page, "../lib/check.sh:3: AssertionError") {
		t.Errorf("the run page (%d) does not list the failing test with its output:\n%s", code, page)
	}
	w.send("check_suite", w.checkSuiteRerequested("acme/lib", "app-feature", heads["acme/lib"]))
	fourth := w.watchChecks(map[string]string{"acme/lib": heads["acme/lib"]}, 2, map[string][]string{})
	if cr := fourth["acme/lib"]; cr.Conclusion != "failure" || w.runIDOf("acme/lib", cr) == failedID {
		t.Errorf("acme/lib after Re-run all checks: %+v (the failed run was %s)", cr, failedID)
	}

	// App mode reports with check runs only.
	for repo, sha := range heads {
		for _, s := range []string{sha, first[repo].HeadSHA} {
			if sts := w.gh.Statuses(repo, s); len(sts) != 0 {
				t.Errorf("%s@%.7s has commit statuses in App mode: %+v", repo, s, sts)
			}
		}
	}
	if out := logs.String(); strings.Contains(out, keyLine) || strings.Contains(out, "ghs_") {
		t.Error("the App's key or an installation token reached the logs")
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=error") {
			t.Errorf("service logged an error: %s", line)
		}
	}
}

// page gets one of the service's pages.
func (w *world) page(path string) (int, string) {
	w.t.Helper()
	resp, err := http.Get(w.url + path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
