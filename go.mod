module github.com/provide-io/workspace-bot

go 1.26.0

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/sirupsen/logrus v1.10.2
	github.com/spf13/pflag v1.1.0
)

require golang.org/x/sys v0.49.0 // indirect
