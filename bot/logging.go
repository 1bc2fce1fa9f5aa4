package bot

import (
	"context"

	"github.com/sirupsen/logrus"

	"github.com/provide-io/workspace-bot/internal/logging"
)

func (b *Bot) logger(ctx context.Context) logrus.FieldLogger { return logging.From(ctx, b.log) }
