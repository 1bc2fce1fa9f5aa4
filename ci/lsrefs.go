package ci

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Asking an HTTP server for tips without git. "git ls-remote" over
// HTTP is three processes here (git, git remote-http and the helper) and
// two requests (the capability advertisement, then ls-refs), each of
// which a server such as git http-backend answers with two processes of
// its own. Protocol v2 is stateless over HTTP, so the ls-refs command can
// be posted at once: one request, no process here. Anything unexpected
// (a server without v2, a redirect to a login page, an error) falls back
// to git ls-remote, which then says what is wrong.

// lsRefsClient sends ls-refs requests: proxies from the environment,
// as git's own; no cookies, no timeout but the run's.
var lsRefsClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}

// maxLsRefs bounds an ls-refs answer: the few refs asked for, with their
// symref targets, are a few hundred bytes.
const maxLsRefs = 1 << 20

// lsRefsHTTP lists the named refs of an http(s) url (and, with head, the
// branch its HEAD points at) in one protocol v2 request.
func lsRefsHTTP(ctx context.Context, auth, url string, head bool, names []string) (tips map[string]string, headBranch string, err error) {
	var body bytes.Buffer
	pkt := func(s string) { fmt.Fprintf(&body, "%04x%s", len(s)+4, s) }
	pkt("command=ls-refs\n")
	body.WriteString("0001")
	pkt("symrefs\n")
	want := map[string]bool{}
	if head {
		pkt("ref-prefix HEAD\n")
		want["HEAD"] = true
	}
	for _, n := range names {
		pkt("ref-prefix " + n + "\n")
		want[n] = true
	}
	body.WriteString("0000")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(url, "/")+"/git-upload-pack", &body)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	req.Header.Set("Accept", "application/x-git-upload-pack-result")
	req.Header.Set("Git-Protocol", "version=2")
	req.Header.Set("User-Agent", "git/2-workspace-bot")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := lsRefsClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-git-upload-pack-result" {
		return nil, "", fmt.Errorf("ls-refs: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	in := bufio.NewReader(io.LimitReader(resp.Body, maxLsRefs))
	tips = map[string]string{}
	for {
		var size [4]byte
		if _, err := io.ReadFull(in, size[:]); err != nil {
			return nil, "", fmt.Errorf("ls-refs: the answer ends early: %w", err)
		}
		n, err := strconv.ParseUint(string(size[:]), 16, 16)
		if err != nil {
			return nil, "", fmt.Errorf("ls-refs: bad packet length %q", size[:])
		}
		if n == 0 {
			return tips, headBranch, nil // flush: the end
		}
		if n < 4 {
			return nil, "", fmt.Errorf("ls-refs: unexpected packet %q", size[:])
		}
		line := make([]byte, n-4)
		if _, err := io.ReadFull(in, line); err != nil {
			return nil, "", fmt.Errorf("ls-refs: the answer ends early: %w", err)
		}
		s := strings.TrimSuffix(string(line), "\n")
		if strings.HasPrefix(s, "ERR ") {
			return nil, "", errors.New("ls-refs: " + s)
		}
		// obj-id SP refname *(SP ref-attribute)
		f := strings.Split(s, " ")
		if len(f) < 2 || !isFullSHA(f[0]) {
			return nil, "", fmt.Errorf("ls-refs: unexpected line %q", s)
		}
		if !want[f[1]] {
			continue // a longer name under a prefix asked for
		}
		tips[f[1]] = f[0]
		for _, attr := range f[2:] {
			if target, ok := strings.CutPrefix(attr, "symref-target:"); ok && f[1] == "HEAD" {
				headBranch = strings.TrimPrefix(target, "refs/heads/")
			}
		}
	}
}

// overHTTP says whether url is fetched over smart HTTP.
func overHTTP(url string) bool {
	return strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://")
}
