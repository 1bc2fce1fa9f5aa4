package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provide-io/workspace-bot/internal/ghclient"
)

// The executor is --executor, else [workspace.bot].executor, else local;
// only the actions executor serves the job endpoints.
func TestExecutorChoice(t *testing.T) {
	const base = "[workspace]\nname = \"ws\"\nrepo = \"https://github.example/acme/ws.git\"\n\n[workspace.ci]\ntest = [\"true\"]\n\n[[siblings]]\nname = \"core\"\nrepo = \"https://github.example/acme/core.git\"\n"
	for _, c := range []struct {
		name, flag, key string
		jobs            bool
		refused         string
	}{
		{"the default", "", "", false, ""},
		{"the config's", "", "actions", true, ""},
		{"the flag over the config", "local", "actions", false, ""},
		{"the flag", "actions", "", true, ""},
		{"an unknown one", "k8s", "", false, `executor "k8s": use local or actions`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := base
			if c.key != "" {
				cfg += "\n[workspace.bot]\nexecutor = \"" + c.key + "\"\n"
			}
			path := filepath.Join(dir, "wrknv.toml")
			if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := New(context.Background(), Options{
				BotOptions: BotOptions{GitHub: ghclient.Options{APIURL: "http://127.0.0.1:1/", Token: "t"}, Config: path, DataDir: dir, PublicURL: "https://bot.example"},
				Secret:     []byte("s"), Executor: c.flag,
			})
			if c.refused != "" {
				if err == nil || !strings.Contains(err.Error(), c.refused) {
					t.Fatalf("New = %v, want %q", err, c.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rec := httptest.NewRecorder()
			s.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/runs/1/plan", nil))
			if got := rec.Code == http.StatusUnauthorized; got != c.jobs {
				t.Errorf("GET /runs/1/plan without a token: %d; job endpoints served %v, want %v", rec.Code, got, c.jobs)
			}
		})
	}
}
