package bot

import (
	"testing"

	"github.com/provide-io/workspace-bot/internal/pgtest"
)

// TestMain stops the PostgreSQL server the tests may have started.
func TestMain(m *testing.M) { pgtest.Main(m) }
