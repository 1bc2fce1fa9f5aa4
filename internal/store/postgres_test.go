package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A database URL carries a password: no error from opening or probing
// it repeats the password, and each names what to check.
func TestDatabaseURLErrorsHideThePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, c := range []struct{ url, want string }{
		{"postgres://bot:s3cr3t-hush@127.0.0.1:1/bot?connect_timeout=5", "cannot reach the database"},
		{"postgres://bot:s3cr3t-hush@127.0.0.1:99999999/bot", "does not parse"},
	} {
		_, err := Open(ctx, c.url)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cr3t-hush") {
			t.Errorf("Open(%q) = %v, want an error saying %q without the password", RedactURL(c.url), err, c.want)
		}
		_, err = ProbeDatabase(ctx, c.url)
		if err == nil || strings.Contains(err.Error(), "s3cr3t-hush") {
			t.Errorf("ProbeDatabase(%q) = %v, want an error without the password", RedactURL(c.url), err)
		}
	}
	if got := RedactURL("postgres://bot:s3cr3t-hush@db:5432/bot"); strings.Contains(got, "s3cr3t-hush") || !strings.Contains(got, "db:5432") {
		t.Errorf("RedactURL = %q", got)
	}
}
