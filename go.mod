module github.com/kioskd/kioskd

go 1.26.8

require (
	github.com/robfig/cron/v3 v3.0.1
	gopkg.in/yaml.v3 v3.0.1
)
