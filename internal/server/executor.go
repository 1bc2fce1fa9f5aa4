package server

import (
	"context"
	"fmt"

	"github.com/provide-io/workspace-bot/bot"
	"github.com/provide-io/workspace-bot/internal/gh"
	"github.com/provide-io/workspace-bot/internal/store"
)

// Executors serve --executor takes.
const (
	ExecutorLocal   = "local"
	ExecutorActions = "actions"
)

// executor is the executor o asks for: --executor, else the config's
// [workspace.bot].executor, else local (nil: the queue's default).
func executor(ctx context.Context, b *bot.Bot, st *store.Store, api *gh.Client, o Options) (bot.Executor, error) {
	kind := o.Executor
	if kind == "" {
		// The config read at start decides; one read from GitHub that
		// fails leaves the default.
		if cfg, err := b.Config(ctx); err == nil {
			kind = cfg.Workspace.Bot.Executor
		}
	}
	switch kind {
	case "", ExecutorLocal:
		return nil, nil
	case ExecutorActions:
	default:
		return nil, UsageError{Err: fmt.Errorf("executor %q: use local or actions", kind)}
	}
	ao := o.Actions
	ao.GitHub, ao.Dispatches = api, st
	if ao.ServiceURL == "" {
		ao.ServiceURL = o.PublicURL
	}
	a, err := bot.NewActions(b, ao)
	if err != nil {
		return nil, UsageError{Err: err}
	}
	return a, nil
}
