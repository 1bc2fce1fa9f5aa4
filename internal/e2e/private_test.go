package e2e

import (
	"testing"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

// Most workspaces keep some siblings private: the service must fetch them
// with its own credentials, which no clone URL in wrknv.toml carries.
func TestPrivateSiblingsBuildWithTheServiceCredentials(t *testing.T) {
	t.Parallel()
	bin := buildBot(t)
	w := newWorld(t, worldOptions{noServe: true, private: true})
	if _, err := gitfixture.Git(t.TempDir(), "-c", "credential.helper=", "clone", "--quiet", w.gh.GitURL("acme/core"), "dst"); err == nil {
		t.Fatal("the emulator let an anonymous clone of a private repository through; the test would prove nothing")
	}
	core := w.openPR("acme/core", "private-change", "", map[string]string{"README": "core changed\n"})
	app := w.openPR("acme/app", "private-change", "", map[string]string{"README": "app changed\n"})
	logs := &syncBuffer{}
	w.startServe(bin, freeAddr(t), t.TempDir(), logs)
	w.send("pull_request", w.prPayload("opened", "acme/core", core))
	for repo, n := range map[string]int{"acme/core": core, "acme/app": app} {
		w.waitFor(repo+" success", func() bool {
			return w.status(repo, w.head(repo, n)).State == "success"
		})
	}
	if t.Failed() {
		t.Logf("serve log:\n%s", logs.String())
	}
}
