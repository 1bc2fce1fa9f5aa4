package cli

import (
	"testing"

	"github.com/spf13/pflag"
)

// A credential given one way is not joined by the other from the
// environment: --github-token on the command line with a token file in
// the environment, or the other way round, is one token, not an error.
func TestApplyEnvOneCredential(t *testing.T) {
	env := map[string]string{"WORKSPACE_BOT_GITHUB_TOKEN_FILE": "/nonexistent/token", "GITHUB_TOKEN": "ghp_fromEnv"}
	getenv := func(k string) string { return env[k] }

	var g GitHubFlags
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	g.Register(fs)
	if err := fs.Parse([]string{"--github-token", "ghp_typed"}); err != nil {
		t.Fatal(err)
	}
	if err := ApplyEnv(fs, getenv); err != nil {
		t.Fatalf("the token file in the environment was read beside --github-token: %v", err)
	}
	if g.Token != "ghp_typed" || g.TokenFile != "" {
		t.Errorf("token %q, file %q; want the typed token alone", g.Token, g.TokenFile)
	}

	fs = pflag.NewFlagSet("t", pflag.ContinueOnError)
	g = GitHubFlags{}
	g.Register(fs)
	// A variable whose flag the command does not have is not read.
	env = map[string]string{"GITHUB_TOKEN": "ghp_fromEnv", "WORKSPACE_BOT_LISTEN": "nonsense"}
	if err := ApplyEnv(fs, getenv); err != nil || g.Token != "ghp_fromEnv" {
		t.Errorf("token %q, error %v; want the variable's token, and no flag it does not have", g.Token, err)
	}
}
