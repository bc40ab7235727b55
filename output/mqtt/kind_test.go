package mqtt

import (
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/output/handoff"
)

func TestConfigCheck(t *testing.T) {
	c := Config{Broker: "mqtt://b:1883", Topic: "pos/door-a"}
	if err := c.Check(); err != nil || c.Timeout != DefaultTimeout || c.Verdicts != "all" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	for _, c := range []struct {
		name string
		c    Config
		key  string
	}{
		{"no broker", Config{Topic: "t"}, "broker:"},
		{"http broker", Config{Broker: "http://b", Topic: "t"}, "broker:"},
		{"credentials in broker", Config{Broker: "mqtt://u:pw@b", Topic: "t"}, "broker:"},
		{"ca without tls", Config{Broker: "mqtt://b", Topic: "t", CAFile: "x"}, "ca_file:"},
		{"no topic", Config{Broker: "mqtt://b"}, "topic:"},
		{"wildcard", Config{Broker: "mqtt://b", Topic: "a/#"}, "topic:"},
		{"system topic", Config{Broker: "mqtt://b", Topic: "$SYS/x"}, "topic:"},
		{"short timeout", Config{Broker: "mqtt://b", Topic: "t", Timeout: time.Millisecond}, "timeout:"},
		{"bad verdicts", Config{Broker: "mqtt://b", Topic: "t", Common: handoff.Common{Verdicts: "x"}}, "verdicts:"},
	} {
		err := c.c.Check()
		if err == nil || !strings.HasPrefix(err.Error(), c.key) || strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.key)
		}
	}
}

func TestPrepareCredentials(t *testing.T) {
	for _, c := range []struct {
		creds string
		ok    bool
	}{{"", true}, {"kiosk:right horse", true}, {"username: kiosk\npassword: p\n", true}, {"kioskdpassword", false}} {
		env := handoff.Env{Name: "loyalty", Kiosk: "door-a", Secret: func(key, file, env string) (string, error) {
			if key != "credentials_file" || env != "KIOSKD_OUTPUT_LOYALTY_CREDENTIALS" {
				t.Errorf("asked for %s %s", key, env)
			}
			return c.creds, nil
		}}
		s, err := Prepare(Config{Broker: "mqtt://b:1883", Topic: "t"}, env)
		if (err == nil) != c.ok {
			t.Errorf("credentials %q: %v", c.creds, err)
		}
		if err != nil && strings.Contains(err.Error(), c.creds) {
			t.Errorf("the error quotes the credentials: %v", err)
		}
		if err == nil && s.o.ClientID != "kioskd-door-a-out-loyalty" {
			t.Errorf("client id %q", s.o.ClientID)
		}
	}
}
