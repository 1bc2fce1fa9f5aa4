package githubtest

import (
	"testing"

	"github.com/google/go-github/v88/github"
	"github.com/provide-io/workspace-bot/internal/gitfixture"
)

func TestContents(t *testing.T) {
	s := start(t)
	seed(t, s)
	big := ""
	for i := 0; i < 40; i++ {
		big += "line of the workspace config\n"
	}
	if _, err := s.Commit("acme/app", "cfg", map[string]string{"wrknv.toml": big}, "cfg"); err != nil {
		t.Fatal(err)
	}
	gh := client(t, s, "")
	ctx := t.Context()

	f, dir, _, err := gh.Repositories.GetContents(ctx, "acme", "app", "wrknv.toml", &github.RepositoryContentGetOptions{Ref: "cfg"})
	if err != nil || dir != nil {
		t.Fatalf("get file: %v dir=%v", err, dir)
	}
	text, err := f.GetContent()
	if err != nil || text != big {
		t.Errorf("content mismatch: %v", err)
	}
	blob, _ := gitfixture.Git(s.RepoDir("acme/app"), "rev-parse", "cfg:wrknv.toml")
	if f.GetSHA() != blob || f.GetType() != "file" || f.GetSize() != len(big) || f.GetEncoding() != "base64" {
		t.Errorf("file meta sha=%s (blob %s) type=%s size=%d", f.GetSHA(), blob, f.GetType(), f.GetSize())
	}
	// Absent on the default branch.
	if _, _, resp, err := gh.Repositories.GetContents(ctx, "acme", "app", "wrknv.toml", nil); err == nil || resp.StatusCode != 404 {
		t.Errorf("missing file: %v", err)
	}
	if _, _, _, err := gh.Repositories.GetContents(ctx, "acme", "app", "README.md", &github.RepositoryContentGetOptions{Ref: "nope"}); !isStatus(err, 404) {
		t.Errorf("missing ref: %v", err)
	}
	_, entries, _, err := gh.Repositories.GetContents(ctx, "acme", "app", "src", nil)
	if err != nil || len(entries) != 1 || entries[0].GetPath() != "src/a.go" || entries[0].GetType() != "file" {
		t.Errorf("dir listing: %v %+v", err, entries)
	}
}
