package server

import (
	"context"
	"fmt"
	"os"
	"regexp"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/workspace"
)

// remoteConfigRe matches owner/repo:path, a config read from GitHub.
var remoteConfigRe = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+):(.+)$`)

// ValidRepo says whether s is owner/repo.
func ValidRepo(s string) bool { return remoteConfigRe.MatchString(s + ":" + workspace.DefaultFileName) }

// RemoteConfig reads owner/repo:path; a path that exists on disk is
// always local.
func RemoteConfig(spec string) (repo, path string, ok bool) {
	if _, err := os.Stat(spec); err == nil {
		return "", "", false
	}
	m := remoteConfigRe.FindStringSubmatch(spec)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// FileReader reads a file from a repository on GitHub.
type FileReader interface {
	FileContents(ctx context.Context, repo, path, ref string) ([]byte, error)
}

// ConfigSource reads a local wrknv.toml once and checks it now, or reads
// owner/repo:path from GitHub on every call, so a change to it lands on
// the next run. remote says which.
func ConfigSource(spec string, files FileReader) (src bot.ConfigSource, remote bool, err error) {
	if spec == "" {
		spec = workspace.DefaultFileName
	}
	if repo, path, ok := RemoteConfig(spec); ok {
		return func(ctx context.Context) (*bot.ConfigFile, error) {
			data, err := files.FileContents(ctx, repo, path, "")
			if err != nil {
				return nil, fmt.Errorf("read the workspace config %s: %w", spec, err)
			}
			cfg, _, err := workspace.Parse(spec, data)
			if err != nil {
				return nil, err
			}
			if cfg.Workspace.Repo == "" {
				return nil, fmt.Errorf("workspace config %s: [workspace] repo is not set; set it so the workspace repository can be checked out", spec)
			}
			return &bot.ConfigFile{Config: cfg, Name: spec, Text: data, Remote: true}, nil
		}, true, nil
	}
	cfg, _, err := workspace.Load(spec)
	if err != nil {
		return nil, false, err
	}
	// The text as Load read it, for runs to keep.
	data, err := os.ReadFile(cfg.File)
	if err != nil {
		return nil, false, fmt.Errorf("read the workspace config: %w", err)
	}
	file := &bot.ConfigFile{Config: cfg, Name: cfg.File, Text: data}
	return func(context.Context) (*bot.ConfigFile, error) { return file, nil }, false, nil
}
