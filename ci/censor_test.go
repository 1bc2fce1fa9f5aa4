package ci

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// leakedForms lists which forms of secret text still shows: in clear,
// URL-encoded, or inside any base64 run of text (decoded at every
// alignment).
func leakedForms(text, secret string) []string {
	var leaks []string
	if strings.Contains(text, secret) {
		leaks = append(leaks, "clear")
	}
	if strings.Contains(text, url.QueryEscape(secret)) || strings.Contains(text, url.PathEscape(secret)) {
		leaks = append(leaks, "url-encoded")
	}
	isB64 := func(r rune) bool {
		return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("+/-_", r)
	}
	for _, word := range strings.FieldsFunc(text, func(r rune) bool { return !isB64(r) }) {
		for skip := 0; skip < 4 && skip < len(word); skip++ {
			w := word[skip:]
			w = w[:len(w)/4*4]
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
				if raw, err := enc.DecodeString(w); err == nil && bytes.Contains(raw, []byte(secret)) {
					leaks = append(leaks, "base64")
				}
			}
		}
	}
	return leaks
}

func compact(s []string) []string {
	var out []string
	for _, v := range s {
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}

const testSecret = "ghs_Zq9+tok/en=VALUE:42"

// TestCensorEveryFormAndSplit: the secret in clear, in base64 after
// prefixes of every length (so at every alignment), and URL-encoded is
// redacted, however the stream is cut into writes; the text around it
// is kept.
func TestCensorEveryFormAndSplit(t *testing.T) {
	var in strings.Builder
	in.WriteString("start " + testSecret + " middle\n")
	for _, prefix := range []string{"", "x", "xy", "x-access-token:", "user:"} {
		in.WriteString("auth " + base64.StdEncoding.EncodeToString([]byte(prefix+testSecret+"\n")) + " end\n")
		in.WriteString("url " + base64.URLEncoding.EncodeToString([]byte(prefix+testSecret)) + "\n")
	}
	in.WriteString("query ?t=" + url.QueryEscape(testSecret) + "&path=/" + url.PathEscape(testSecret) + "/x\n")
	in.WriteString("twice " + testSecret + testSecret + " done\n")
	text := in.String()
	if got := strings.Join(compact(leakedForms(text, testSecret)), " "); got != "clear url-encoded base64" {
		t.Fatalf("the test input does not hold every form: %s", got)
	}
	needles := newSecrets([]string{testSecret}).list()
	for size := 1; size <= len(text); size++ {
		var out bytes.Buffer
		c := newCensor(needles, func(p []byte) { out.Write(p) })
		for i := 0; i < len(text); i += size {
			c.write([]byte(text[i:min(i+size, len(text))]))
		}
		c.flush()
		got := out.String()
		if leaks := leakedForms(got, testSecret); len(leaks) > 0 {
			t.Fatalf("writes of %d bytes: %v leaked:\n%s", size, leaks, got)
		}
		for _, keep := range []string{"start ", " middle\n", "query ?t=", "twice " + Redacted + Redacted + " done\n"} {
			if !strings.Contains(got, keep) {
				t.Fatalf("writes of %d bytes: lost %q:\n%s", size, keep, got)
			}
		}
	}
}

// TestSecretsNeverReachTheLog reproduces the finding: a step printed the
// service's token, and the run page, the log and the PR comment carried
// it. A step that got hold of a secret prints it in clear, in base64,
// URL-encoded and split across two writes; a parallel step does the same;
// and a step prints the credential the runner fetched with. None of it
// reaches Result, Request.Output or the returned error.
func TestSecretsNeverReachTheLog(t *testing.T) {
	const fetchToken = "ghs_installationTokenForFetch77"
	f := newFixture(t)
	f.repo("alpha", nil)
	f.repo("beta", nil)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+fetchToken))
	f.auth.Store(&auth)
	cfg := f.config(sib{name: "alpha"}, sib{name: "beta"})
	half := len(testSecret) / 2
	cfg.Workspace.CI.Env = map[string]string{"S": testSecret, "S1": testSecret[:half], "S2": testSecret[half:], "FT": fetchToken}
	leak := `printf 'clear %s\n' "$S"; printf 'x-access-token:%s' "$S" | base64; ` +
		`printf '%s' "$S" | sed -e 's/%/%25/g' -e 's/:/%3A/g' -e 's|/|%2F|g' -e 's/+/%2B/g' -e 's/=/%3D/g'; echo; ` +
		`printf 'split %s' "$S1"; sleep 0.2; printf '%s\n' "$S2"; echo "fetched with $FT"`
	cfg.Sibling("alpha").Setup = []string{leak}
	cfg.Sibling("beta").Setup = []string{leak}
	cfg.Workspace.CI.Test = []string{leak + "; exit 1"}
	var out strings.Builder
	r := f.runner()
	r.Secrets = []string{testSecret}
	r.Authorization = func(context.Context, string) (string, error) { return auth, nil }
	res, err := r.Run(context.Background(), Request{Config: cfg, Output: &syncWriter{w: &out}})
	if err != nil || res.Result != Failure {
		t.Fatalf("%v %+v", err, res)
	}
	check := func(where, text string) {
		t.Helper()
		for _, s := range []string{testSecret, fetchToken} {
			if leaks := leakedForms(text, s); len(leaks) > 0 {
				t.Errorf("%s shows the secret %s: %v:\n%s", where, s[:8], leaks, text)
			}
		}
		if strings.Count(text, Redacted) < 5 {
			t.Errorf("%s: fewer redactions than leaks:\n%s", where, text)
		}
	}
	check("Request.Output", out.String())
	for _, st := range append(stepsOf(res, "setup", "*"), stepsOf(res, "test", "")...) {
		check(st.Name+" "+st.Sibling+" Log", st.Log)
		check(st.Name+" "+st.Sibling+" LogTail", st.LogTail)
	}
	if !strings.Contains(out.String(), "split "+Redacted+"\n") {
		t.Errorf("a secret split across writes was not replaced whole:\n%s", out.String())
	}
}
