package gitauth

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
)

func TestGitSendsTheHeader(t *testing.T) {
	if Env("") != nil {
		t.Error("no authorization should add nothing")
	}
	got := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
		http.Error(w, "no", http.StatusNotFound)
	}))
	defer srv.Close()
	cmd := exec.Command("git", "ls-remote", srv.URL+"/o/r.git")
	cmd.Env = append(os.Environ(), append([]string{"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"}, Env("Basic dGVzdA==")...)...)
	cmd.Run() // the server refuses; only the request matters
	if h := <-got; h != "Basic dGVzdA==" {
		t.Errorf("git sent Authorization %q", h)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://x-access-token:ghs_abc@github.com/o/r.git": "https://github.com/o/r.git",
		"https://github.com/o/r.git":                        "https://github.com/o/r.git",
		"/srv/git/o/r.git":                                  "/srv/git/o/r.git",
		"git@github.com:o/r.git":                            "git@github.com:o/r.git",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	text := "fatal: unable to access 'https://user:s3cret@ghe.example/o/r.git/': 403"
	if got := RedactText(text); got != "fatal: unable to access 'https://ghe.example/o/r.git/': 403" {
		t.Errorf("RedactText = %q", got)
	}
}
