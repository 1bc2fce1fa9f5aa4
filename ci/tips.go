package ci

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/provide-io/workspace-bot/workspace"
)

// CheckoutTips checks out every sibling of cfg at its branch tip, and
// nothing more (no setup, no tests), in a build root that cleanup
// removes. It says where each sibling's checkout is, by name.
func (r *Runner) CheckoutTips(ctx context.Context, cfg *workspace.Config) (dirs map[string]string, cleanup func(), err error) {
	cleanup = func() {}
	res, err := r.Run(ctx, Request{Config: cfg.WithoutSteps(), Changeset: "release", CheckoutOnly: true})
	if res != nil && res.BuildRoot != "" {
		root := res.BuildRoot
		cleanup = func() { os.RemoveAll(root) }
	}
	if err != nil {
		return nil, cleanup, err
	}
	if res.Result != Success {
		return nil, cleanup, fmt.Errorf("checking out the siblings: %s %s", res.Result, res.Error)
	}
	// The workspace sits one level below the build root, named after
	// its directory, or after the workspace when it has none on disk.
	wsDir := filepath.Join(res.BuildRoot, filepath.Base(cfg.Dir()))
	if _, err := os.Stat(wsDir); err != nil {
		wsDir = filepath.Join(res.BuildRoot, cfg.Workspace.Name)
	}
	dirs = make(map[string]string, len(cfg.Siblings))
	for _, s := range cfg.Siblings {
		dirs[s.Name] = filepath.Join(wsDir, s.Path)
	}
	return dirs, cleanup, nil
}
