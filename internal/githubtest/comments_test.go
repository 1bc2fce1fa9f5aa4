package githubtest

import (
	"testing"

	"github.com/google/go-github/v88/github"
)

func openPR(t *testing.T, s *Server) int {
	t.Helper()
	if _, err := s.Commit("acme/app", "feature", map[string]string{"f.txt": "f"}, "f"); err != nil {
		t.Fatal(err)
	}
	n, err := s.OpenPR(NewPR{Repo: "acme/app", Head: "feature", Title: "f", User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCommentsAndReactions(t *testing.T) {
	s := start(t)
	seed(t, s)
	n := openPR(t, s)
	gh := client(t, s, "")
	ctx := t.Context()

	human, err := s.AddComment("acme/app", n, "bob", "CONTRIBUTOR", "/workspace test")
	if err != nil {
		t.Fatal(err)
	}
	mine := must[*github.IssueComment](t)(gh.Issues.CreateComment(ctx, "acme", "app", n, &github.IssueComment{Body: github.String("summary v1")}))
	if mine.GetUser().GetLogin() != OpenLogin || mine.GetUser().GetType() != "Bot" || mine.GetBody() != "summary v1" || mine.GetID() == human.ID {
		t.Errorf("created = %+v", mine)
	}
	list := must[[]*github.IssueComment](t)(gh.Issues.ListComments(ctx, "acme", "app", n, nil))
	if len(list) != 2 || list[0].GetID() != human.ID || list[0].GetAuthorAssociation() != "CONTRIBUTOR" || list[1].GetID() != mine.GetID() {
		t.Fatalf("list = %d comments", len(list))
	}
	edited := must[*github.IssueComment](t)(gh.Issues.EditComment(ctx, "acme", "app", mine.GetID(), &github.IssueComment{Body: github.String("summary v2")}))
	if edited.GetBody() != "summary v2" {
		t.Errorf("edited body = %q", edited.GetBody())
	}
	got := must[*github.IssueComment](t)(gh.Issues.GetComment(ctx, "acme", "app", mine.GetID()))
	if got.GetBody() != "summary v2" {
		t.Errorf("get after edit = %q", got.GetBody())
	}
	cs := s.Comments("acme/app", n)
	if len(cs) != 2 || cs[1].Edits != 1 || cs[1].Body != "summary v2" || cs[0].Edits != 0 || cs[0].User != "bob" {
		t.Errorf("Comments = %+v", cs)
	}
	if _, _, err := gh.Issues.CreateComment(ctx, "acme", "app", 42, &github.IssueComment{Body: github.String("x")}); !isStatus(err, 404) {
		t.Errorf("comment on missing issue: %v, want 404", err)
	}
	if _, _, err := gh.Issues.GetComment(ctx, "acme", "app", 1); !isStatus(err, 404) {
		t.Errorf("missing comment: %v, want 404", err)
	}

	r, resp, err := gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "app", human.ID, "eyes")
	if err != nil || resp.StatusCode != 201 || r.GetContent() != "eyes" {
		t.Fatalf("first reaction: %v status %v", err, resp)
	}
	_, resp, err = gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "app", human.ID, "eyes")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("same reaction again: %v, want 200", err)
	}
	if _, _, err := gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "app", human.ID, "+1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := gh.Reactions.CreateIssueCommentReaction(ctx, "acme", "app", human.ID, "thumbsup"); !isStatus(err, 422) {
		t.Errorf("bad content: %v, want 422", err)
	}
	if got := s.Reactions("acme/app", human.ID); len(got) != 2 || got[0] != "eyes" || got[1] != "+1" {
		t.Errorf("Reactions = %v", got)
	}
	c := must[*github.IssueComment](t)(gh.Issues.GetComment(ctx, "acme", "app", human.ID))
	if c.GetReactions().GetTotalCount() != 2 || c.GetReactions().GetPlusOne() != 1 {
		t.Errorf("reaction rollup = %+v", c.GetReactions())
	}
}

func TestCommentPagination(t *testing.T) {
	s := start(t)
	seed(t, s)
	n := openPR(t, s)
	for i := 0; i < 35; i++ {
		if _, err := s.AddComment("acme/app", n, "bob", "", "c"); err != nil {
			t.Fatal(err)
		}
	}
	gh := client(t, s, "")
	first, resp, err := gh.Issues.ListComments(t.Context(), "acme", "app", n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 30 || resp.NextPage != 2 || resp.LastPage != 2 {
		t.Errorf("default page: %d items next %d last %d", len(first), resp.NextPage, resp.LastPage)
	}
	second := must[[]*github.IssueComment](t)(gh.Issues.ListComments(t.Context(), "acme", "app", n,
		&github.IssueListCommentsOptions{ListOptions: github.ListOptions{Page: 2}}))
	if len(second) != 5 || second[0].GetID() <= first[29].GetID() {
		t.Errorf("second page: %d items", len(second))
	}
	if first[0].GetAuthorAssociation() != "NONE" {
		t.Errorf("derived association = %q, want NONE", first[0].GetAuthorAssociation())
	}
}
