// Package demo plays the whole loop on this machine: sibling repositories
// with real commits on the built-in GitHub emulator, linked PRs, signed
// webhooks into the real service, and what a maintainer sees on each PR.
package demo

import "github.com/provide-io/workspace-bot/internal/gitfixture"

// Owner is the GitHub owner of the demo's repositories.
const Owner = "demo-org"

// The demo workspace is three tiny shell "packages" installed into one
// shared environment, like editable installs into one venv: greeting
// (foundation), banner (framework, uses greeting) and hello-cli (tools,
// uses both), plus the workspace repository with the integration test.
const configText = `[workspace]
name = "demo-workspace"
description = "a three-sibling workspace for the workspace-bot demo"
repo = "{{GIT}}/demo-org/demo-workspace.git"

[workspace.ci]
setup = ["mkdir -p .env/lib"]
test = ["sh tests/integration.sh"]
timeout = "2m"
checkout = "merge"

[workspace.bot]
command = "/workspace"
context = "workspace/integration"

[[siblings]]
name = "greeting"
path = "../greeting"
repo = "{{GIT}}/demo-org/greeting.git"
layer = "foundation"
setup = ["sh install.sh"]
test = ["sh -n lib.sh"]

[[siblings]]
name = "banner"
path = "../banner"
repo = "{{GIT}}/demo-org/banner.git"
layer = "framework"
depends_on = ["greeting"]
setup = ["sh install.sh"]
test = ["sh -n lib.sh"]

[[siblings]]
name = "hello-cli"
path = "../hello-cli"
repo = "{{GIT}}/demo-org/hello-cli.git"
layer = "tools"
depends_on = ["greeting", "banner"]
setup = ["sh install.sh"]
test = ["sh -n lib.sh"]
`

// install links a sibling into the workspace's shared environment, as an
// editable install would, and checks that what it needs is already there.
func install(name string, needs ...string) string {
	s := "#!/bin/sh\nset -e\n"
	for _, n := range needs {
		s += "test -f \"$WORKSPACE_ROOT/.env/lib/" + n + ".sh\" || { echo \"" + name + " needs " + n + " installed first\" >&2; exit 1; }\n"
	}
	s += "cp lib.sh \"$WORKSPACE_ROOT/.env/lib/" + name + ".sh\"\necho \"installed " + name + "\"\n"
	return s
}

var workspaceFiles = map[string]string{
	"README.md": "# demo-workspace\n\nIntegration tests for greeting, banner and hello-cli together.\n",
	"tests/integration.sh": `#!/bin/sh
# The workspace-level integration test: every sibling, installed together.
set -e
lib="$WORKSPACE_ROOT/.env/lib"
. "$lib/greeting.sh"
. "$lib/banner.sh"
. "$lib/hello-cli.sh"
out=$(hello_cli world)
echo "hello-cli printed: $out"
expected="*** Hello, world! ***"
if [ "$out" != "$expected" ]; then
  echo "FAIL: expected '$expected'" >&2
  exit 1
fi
echo "ok: all siblings agree"
`,
}

var greetingFiles = map[string]string{
	"README.md":  "# greeting\n\nSays hello.\n",
	"install.sh": gitfixture.Executable + install("greeting"),
	"lib.sh":     "greet() { echo \"Hello, $1!\"; }\n",
}

var bannerFiles = map[string]string{
	"README.md":  "# banner\n\nFrames a line of text.\n",
	"install.sh": gitfixture.Executable + install("banner", "greeting"),
	"lib.sh":     "banner() { echo \"*** $1 ***\"; }\n",
}

var cliFiles = map[string]string{
	"README.md":  "# hello-cli\n\nThe command line.\n",
	"install.sh": gitfixture.Executable + install("hello-cli", "greeting", "banner"),
	"lib.sh":     "hello_cli() { banner \"$(greet \"$1\")\"; }\n",
}

// The cross-repository change: greeting renames greet to say_hello, which
// breaks hello-cli unless hello-cli's PR lands with it.
var greetingRename = map[string]string{
	"lib.sh": "say_hello() { echo \"Hello, $1!\"; }\n",
}

var cliRename = map[string]string{
	"lib.sh": "hello_cli() { banner \"$(say_hello \"$1\")\"; }\n",
}

// A change to banner that its author did not test with the others.
var bannerBreak = map[string]string{
	"lib.sh": "banner() { echo \"=== $1 ===\"; }\n",
}
