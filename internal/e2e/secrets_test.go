package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// procDump is a test step as an attacker writes it: every process it can
// see, its environment and command line, printed rot13'd so that the
// censoring of build output (which knows the secrets' plain, base64 and
// URL-encoded forms) cannot be what keeps them out of the log.
const procDump = `n=0
for p in /proc/[0-9]*; do
  n=$((n+1))
  for f in environ cmdline; do
    tr '\000' '\n' < $p/$f 2>/dev/null | tr 'A-Za-z' 'N-ZA-Mn-za-m'
  done
done
echo "read the environment and command line of $n processes"
`

func rot13(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return 'a' + (r-'a'+13)%26
		case r >= 'A' && r <= 'Z':
			return 'A' + (r-'A'+13)%26
		}
		return r
	}, s)
}

// TestServeHoldsNoSecretInProc starts the real serve with its token and
// webhook secret in its environment and the token on its command line
// too, then looks for them where code under test would: in /proc/<serve
// pid>/environ and cmdline, read from outside, and in the log of a build
// whose test dumps every process it can see.
func TestServeHoldsNoSecretInProc(t *testing.T) {
	t.Parallel()
	bin := buildBot(t)
	w := newWorld(t, worldOptions{noServe: true})
	logs := &syncBuffer{}
	cmd := w.startServe(bin, freeAddr(t), t.TempDir(), logs, "--github-token", botToken)
	pid := cmd.Process.Pid

	for _, f := range []string{"environ", "cmdline"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "\x00", " ")
		for _, s := range []string{botToken, secret, "--github-token"} {
			if strings.Contains(text, s) {
				t.Errorf("/proc/%d/%s holds %q: %s", pid, f, s, text)
			}
		}
		if f == "cmdline" && !strings.Contains(text, "serve --listen") {
			t.Errorf("/proc/%d/cmdline lost the other flags: %s", pid, text)
		}
	}
	if !strings.Contains(logs.String(), "--github-token-file") {
		t.Errorf("no warning about --github-token on the command line:\n%s", logs.String())
	}

	n := w.openPR("acme/core", "dump-proc", "", map[string]string{"check.sh": procDump})
	w.send("pull_request", w.prPayload("opened", "acme/core", n))
	st := w.waitState("acme/core", w.head("acme/core", n), "success")
	log := w.logOf(st)
	if !strings.Contains(log, "read the environment and command line of") || !strings.Contains(log, rot13("PATH=")) {
		t.Fatalf("the step did not dump what it could see:\n%s", log)
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.HasPrefix(line, "read the environment") {
			t.Log(line)
		}
	}
	for _, s := range []string{botToken, secret} {
		for _, form := range []string{s, rot13(s)} {
			if strings.Contains(log, form) {
				t.Errorf("the build read %q (as %q) from a process it could see", s, form)
			}
		}
	}
	for _, c := range w.gh.Comments("acme/core", n) {
		if strings.Contains(c.Body, botToken) || strings.Contains(c.Body, secret) {
			t.Errorf("a comment holds a secret: %s", c.Body)
		}
	}
	if strings.Contains(logs.String(), botToken) || strings.Contains(logs.String(), secret) {
		t.Error("a secret reached serve's logs")
	}
}
