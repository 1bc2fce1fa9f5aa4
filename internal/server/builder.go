package server

import (
	"context"
	"sync"

	"github.com/provide-io/workspace-bot/ci"
)

// Builder is the bot's Builder: ci's runner, with the workspace repository
// pinned to its branch tip when the config came from GitHub (there is no
// local workspace directory to copy then). With Keep, it keeps each
// result, whole logs included, for the Action's log groups.
type Builder struct {
	Runner       *ci.Runner
	RemoteConfig bool
	Keep         bool

	mu      sync.Mutex
	results []*ci.Result
}

// Run implements bot.Builder.
func (w *Builder) Run(ctx context.Context, req ci.Request) (*ci.Result, error) {
	if w.RemoteConfig && req.Config != nil {
		if _, ok := req.Pins[req.Config.Workspace.Name]; !ok {
			pins := make(map[string]ci.Pin, len(req.Pins)+1)
			for k, v := range req.Pins {
				pins[k] = v
			}
			pins[req.Config.Workspace.Name] = ci.Pin{}
			req.Pins = pins
		}
	}
	res, err := w.Runner.Run(ctx, req)
	if res != nil && w.Keep {
		w.mu.Lock()
		w.results = append(w.results, res)
		w.mu.Unlock()
	}
	return res, err
}

// Results are the results of every run built so far, oldest first.
func (w *Builder) Results() []*ci.Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*ci.Result(nil), w.results...)
}
