package demo

import (
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/internal/githubtest"
)

// Repository names on the emulator.
const (
	WorkspaceRepo = Owner + "/demo-workspace"
	GreetingRepo  = Owner + "/greeting"
	BannerRepo    = Owner + "/banner"
	CLIRepo       = Owner + "/hello-cli"
)

// BotLogin is who the bot acts as on the emulator.
const BotLogin = "workspace-bot"

// Repositories are the demo's repositories and what each holds.
var Repositories = []struct{ Repo, About string }{
	{WorkspaceRepo, "wrknv.toml and the integration test, tests/integration.sh"},
	{GreetingRepo, "foundation: greet NAME prints \"Hello, NAME!\""},
	{BannerRepo, "framework, uses greeting: frames a line in *** ***"},
	{CLIRepo, "tools, uses both: the test expects \"*** Hello, world! ***\""},
}

// RenameBranch is the branch both halves of the cross-repository rename
// are pushed to.
const RenameBranch = "rename-greet"

// Config returns the workspace's wrknv.toml with clone URLs on srv.
func Config(srv *githubtest.Server) string {
	return strings.ReplaceAll(configText, "{{GIT}}", srv.URL()+"/git")
}

// Create makes the four repositories on srv with their first commits on
// main: the workspace (with wrknv.toml and the integration test) and the
// three siblings. At these tips the integration test passes.
func Create(srv *githubtest.Server) error {
	ws := map[string]string{"wrknv.toml": Config(srv)}
	for k, v := range workspaceFiles {
		ws[k] = v
	}
	for _, r := range []struct {
		repo  string
		files map[string]string
	}{
		{WorkspaceRepo, ws},
		{GreetingRepo, greetingFiles},
		{BannerRepo, bannerFiles},
		{CLIRepo, cliFiles},
	} {
		if err := srv.CreateRepo(r.repo, githubtest.RepoOptions{}); err != nil {
			return err
		}
		if _, err := srv.Commit(r.repo, "main", r.files, "initial commit"); err != nil {
			return err
		}
		// alice, a member of the organisation, and bob, a collaborator,
		// can push: their PRs are trusted and their commands run.
		srv.SetPermission(r.repo, "alice", "write")
		srv.SetPermission(r.repo, "bob", "write")
	}
	return nil
}

// Rename is the linked pair of PRs of the cross-repository rename.
type Rename struct {
	Greeting, CLI int // PR numbers in GreetingRepo and CLIRepo
}

// OpenRename pushes the rename to greeting and its follow-up to hello-cli
// on the same branch and opens both PRs, hello-cli's naming greeting's on
// a Depends-On line. Each PR fails alone; together they pass.
func OpenRename(srv *githubtest.Server) (Rename, error) {
	var r Rename
	if _, err := srv.Commit(GreetingRepo, RenameBranch, greetingRename, "Rename greet to say_hello"); err != nil {
		return r, err
	}
	if _, err := srv.Commit(CLIRepo, RenameBranch, cliRename, "Follow greeting's rename of greet to say_hello"); err != nil {
		return r, err
	}
	var err error
	r.Greeting, err = srv.OpenPR(githubtest.NewPR{
		Repo: GreetingRepo, Head: RenameBranch, Title: "Rename greet to say_hello",
		Body: "`greet` becomes `say_hello`, the name every other sibling uses for it.",
		User: "alice", AuthorAssociation: "MEMBER",
	})
	if err != nil {
		return r, err
	}
	r.CLI, err = srv.OpenPR(githubtest.NewPR{
		Repo: CLIRepo, Head: RenameBranch, Title: "Follow greeting's rename",
		Body: fmt.Sprintf("Calls `say_hello` now.\n\nDepends-On: %s#%d\n", GreetingRepo, r.Greeting),
		User: "alice", AuthorAssociation: "MEMBER",
	})
	return r, err
}

// BreakBranch is the branch of banner's untested change.
const BreakBranch = "new-frame"

// OpenBannerBreak opens a PR to banner that changes its frame without
// following through in the integration test: its changeset fails.
func OpenBannerBreak(srv *githubtest.Server) (int, error) {
	if _, err := srv.Commit(BannerRepo, BreakBranch, bannerBreak, "Frame banners with = instead of *"); err != nil {
		return 0, err
	}
	return srv.OpenPR(githubtest.NewPR{
		Repo: BannerRepo, Head: BreakBranch, Title: "A lighter frame",
		Body: "Looks better in narrow terminals.", User: "bob", AuthorAssociation: "COLLABORATOR",
	})
}
