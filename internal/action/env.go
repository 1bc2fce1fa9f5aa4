// Package action is what `workspace-bot action` knows of GitHub Actions:
// the environment the runner sets, how an event maps to work, and how a
// finished run is told back to the workflow (log groups, annotations, the
// step summary and the step's outputs).
package action

import (
	"errors"
	"fmt"
	"strings"

	"github.com/provide-io/workspace-bot/internal/cli"
)

// Commands the action input "command" takes.
const (
	CommandAuto     = "auto"
	CommandTest     = "test"
	CommandValidate = "validate"
)

// Env is the step's environment: what the runner sets, and the action's
// inputs (action.yml passes them as WORKSPACE_BOT_* variables).
type Env struct {
	EventName   string // GITHUB_EVENT_NAME
	EventPath   string // GITHUB_EVENT_PATH
	Repository  string // GITHUB_REPOSITORY
	APIURL      string // GITHUB_API_URL
	ServerURL   string // GITHUB_SERVER_URL
	RunID       string // GITHUB_RUN_ID
	OutputFile  string // GITHUB_OUTPUT
	SummaryFile string // GITHUB_STEP_SUMMARY

	Token   string // WORKSPACE_BOT_GITHUB_TOKEN, else GITHUB_TOKEN
	Config  string // WORKSPACE_BOT_CONFIG
	Command string // WORKSPACE_BOT_COMMAND
	DataDir string // WORKSPACE_BOT_DATA_DIR
}

// TokenVars are the variables a token is read from; the action removes
// them from its own environment once read, so the code under test never
// inherits them.
var TokenVars = []string{"WORKSPACE_BOT_GITHUB_TOKEN", "GITHUB_TOKEN"}

// ReadEnv reads the environment through getenv (os.Getenv).
func ReadEnv(getenv func(string) string) Env {
	e := Env{
		EventName:   getenv("GITHUB_EVENT_NAME"),
		EventPath:   getenv("GITHUB_EVENT_PATH"),
		Repository:  getenv("GITHUB_REPOSITORY"),
		APIURL:      getenv("GITHUB_API_URL"),
		ServerURL:   getenv("GITHUB_SERVER_URL"),
		RunID:       getenv("GITHUB_RUN_ID"),
		OutputFile:  getenv("GITHUB_OUTPUT"),
		SummaryFile: getenv("GITHUB_STEP_SUMMARY"),
		Config:      getenv("WORKSPACE_BOT_CONFIG"),
		Command:     normalCommand(getenv("WORKSPACE_BOT_COMMAND")),
		DataDir:     getenv("WORKSPACE_BOT_DATA_DIR"),
	}
	for _, k := range TokenVars {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			e.Token = v
			break
		}
	}
	if e.APIURL == "" {
		e.APIURL = "https://api.github.com/"
	}
	if e.ServerURL == "" {
		e.ServerURL = "https://github.com"
	}
	if e.Config == "" {
		e.Config = "wrknv.toml"
	}
	if e.Command == "" {
		e.Command = CommandAuto
	}
	return e
}

func normalCommand(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CheckCommand checks the command input, in any case.
func CheckCommand(s string) error {
	switch normalCommand(s) {
	case CommandAuto, CommandTest, CommandValidate:
		return nil
	}
	return errors.New("want auto, test or validate")
}

// Validate checks what every command needs. Its errors name the variable
// and the fix, never a value that could be secret.
func (e Env) Validate() error {
	if err := CheckCommand(e.Command); err != nil {
		return fmt.Errorf("command input %q: %w", e.Command, err)
	}
	if err := cli.Token(e.Token); err != nil {
		return fmt.Errorf("the GitHub token (WORKSPACE_BOT_GITHUB_TOKEN, the action's token input, or GITHUB_TOKEN) %w", err)
	}
	if e.Command == CommandValidate {
		return nil
	}
	var missing []string
	for _, v := range []struct{ name, value string }{
		{"GITHUB_EVENT_NAME", e.EventName}, {"GITHUB_EVENT_PATH", e.EventPath}, {"GITHUB_REPOSITORY", e.Repository},
	} {
		if v.value == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not set: workspace-bot action runs as a GitHub Actions step (use workspace-bot test on a laptop)", strings.Join(missing, ", "))
	}
	if e.Token == "" {
		return fmt.Errorf("no GitHub token: set the action's token input (WORKSPACE_BOT_GITHUB_TOKEN) to a token that can read every sibling")
	}
	return nil
}

// RunURL is the page of this workflow run, where statuses link.
func (e Env) RunURL() string {
	if e.Repository == "" || e.RunID == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/actions/runs/%s", strings.TrimRight(e.ServerURL, "/"), e.Repository, e.RunID)
}
