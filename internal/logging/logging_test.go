package logging

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestCensorHidesSecrets(t *testing.T) {
	var buf bytes.Buffer
	log := logrus.New()
	log.SetOutput(&buf)
	log.SetFormatter(&Censor{Inner: &logrus.JSONFormatter{}, Secrets: []string{"ghp_abcdef123456", "s3cret-value", ""}})
	log.WithField("url", "https://x-access-token:ghp_abcdef123456@github.com/o/r").Error("clone failed with s3cret-value")
	if s := buf.String(); strings.Contains(s, "ghp_abcdef123456") || strings.Contains(s, "s3cret-value") || !strings.Contains(s, "[redacted]") {
		t.Fatalf("log line %s", s)
	}
}
