package githubtest

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"os/exec"
	"path"
	"strconv"
	"strings"

	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

type treeEntry struct {
	mode, typ, sha, path string
	size                 int64
}

// lsTree lists the entries of treeish (commit:dir or the path itself).
func lsTree(dir, commit string, args ...string) ([]treeEntry, error) {
	out, err := gitfixture.Git(dir, append([]string{"ls-tree", "--long", "--end-of-options", commit}, args...)...)
	if err != nil {
		return nil, err
	}
	var entries []treeEntry
	for _, line := range strings.Split(out, "\n") {
		meta, name, ok := strings.Cut(line, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 4 {
			continue
		}
		size, _ := strconv.ParseInt(f[3], 10, 64)
		entries = append(entries, treeEntry{mode: f[0], typ: f[1], sha: f[2], path: name, size: size})
	}
	return entries, nil
}

func catBlob(dir, sha string) ([]byte, error) {
	cmd := exec.Command("git", "cat-file", "blob", sha)
	cmd.Dir = dir
	cmd.Env = []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "PATH=" + gitPath()}
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	return out.Bytes(), err
}

func gitPath() string {
	p, err := exec.LookPath("git")
	if err != nil {
		return "/usr/bin"
	}
	return path.Dir(p)
}

// wrap64 breaks base64 text into 60-character lines, as GitHub does.
func wrap64(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	for len(enc) > 60 {
		sb.WriteString(enc[:60] + "\n")
		enc = enc[60:]
	}
	sb.WriteString(enc + "\n")
	return sb.String()
}

func (s *Server) contentEntry(full, ref string, e treeEntry) map[string]any {
	typ := map[string]string{"blob": "file", "tree": "dir", "commit": "submodule"}[e.typ]
	if e.mode == "120000" {
		typ = "symlink"
	}
	self := s.api("repos/%s/contents/%s?ref=%s", full, e.path, url.QueryEscape(ref))
	gitURL := s.api("repos/%s/git/blobs/%s", full, e.sha)
	html := s.url + "/" + full + "/blob/" + ref + "/" + e.path
	if typ == "dir" {
		gitURL = s.api("repos/%s/git/trees/%s", full, e.sha)
		html = s.url + "/" + full + "/tree/" + ref + "/" + e.path
	}
	var download any
	if typ == "file" {
		download = s.url + "/raw/" + full + "/" + ref + "/" + e.path
	}
	return map[string]any{
		"type": typ, "size": e.size, "name": path.Base(e.path), "path": e.path, "sha": e.sha,
		"url": self, "git_url": gitURL, "html_url": html, "download_url": download,
		"_links": map[string]string{"self": self, "git": gitURL, "html": html},
	}
}

// getContents reads a file (base64, sha of the blob) or lists a directory
// at ref, the default branch when ref is absent.
func (s *Server) getContents(c *call) (int, any) {
	full := c.repoName()
	s.mu.Lock()
	rp := s.st.repo(full)
	full, ref := rp.fullName(), c.query("ref")
	if ref == "" {
		ref = rp.defaultBranch
	}
	s.mu.Unlock()
	p := strings.Trim(c.param("path"), "/")
	commit := s.resolveRef(full, ref)
	if commit == "" {
		return http.StatusNotFound, errBody("No commit found for the ref " + ref)
	}
	dir := s.RepoDir(full)
	s.gitMu.Lock()
	defer s.gitMu.Unlock()
	entries, err := lsTree(dir, commit, "--", p)
	if err != nil || len(entries) != 1 || entries[0].path != p {
		return notFound()
	}
	e := entries[0]
	if e.typ == "tree" {
		children, err := lsTree(dir, commit, "--", p+"/")
		if err != nil {
			return notFound()
		}
		list := make([]any, 0, len(children))
		for _, ch := range children {
			list = append(list, s.contentEntry(full, ref, ch))
		}
		return http.StatusOK, list
	}
	m := s.contentEntry(full, ref, e)
	if m["type"] == "file" || m["type"] == "symlink" {
		data, err := catBlob(dir, e.sha)
		if err != nil {
			return http.StatusInternalServerError, errBody("Server Error")
		}
		if m["type"] == "symlink" {
			m["target"] = string(data)
		} else {
			m["encoding"], m["content"] = "base64", wrap64(data)
		}
	}
	return http.StatusOK, m
}
