package ci

import (
	"fmt"
	"sort"
	"strings"

	"github.com/provide-io/workspace-bot/workspace"
)

// PinRefs pins each SIBLING=REF of refs, and names the run after them
// ("alpha=feature,beta=main"), or "tips" when there are none. A name that
// is neither a sibling nor the workspace, or one pinned twice, is an
// error that says so.
func PinRefs(cfg *workspace.Config, refs []string) (map[string]Pin, string, error) {
	pins := map[string]Pin{}
	var labels []string
	for _, r := range refs {
		name, ref, _ := strings.Cut(r, "=")
		if cfg.Sibling(name) == nil && name != cfg.Workspace.Name {
			return pins, "", fmt.Errorf("--ref %s: %q is not a sibling of %s; known siblings: %s (or the workspace itself, %s)",
				r, name, cfg.Workspace.Name, strings.Join(KnownNames(cfg), ", "), cfg.Workspace.Name)
		}
		if _, dup := pins[name]; dup {
			return pins, "", fmt.Errorf("--ref %s: %s is pinned twice; give one --ref per sibling", r, name)
		}
		pins[name] = Pin{Ref: ref}
		labels = append(labels, name+"="+ref)
	}
	if len(labels) == 0 {
		return pins, "tips", nil
	}
	sort.Strings(labels)
	return pins, strings.Join(labels, ","), nil
}
