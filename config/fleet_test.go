package config

import (
	"strings"
	"testing"
	"time"
)

func TestFleetSection(t *testing.T) {
	tests := []struct {
		name, yaml, wantKey string
	}{
		{"no broker: single kiosk", "fleet:\n  qos: 7\n", ""},
		{"plain", "fleet:\n  broker: mqtt://10.0.0.2:1883\n", ""},
		{"tls with ca", "fleet:\n  broker: mqtts://broker.venue:8883\n  ca_file: ca.pem\n", ""},
		{"ca without tls", "fleet:\n  broker: mqtt://x:1883\n  ca_file: ca.pem\n", "fleet.ca_file"},
		{"scheme", "fleet:\n  broker: tcp://x:1883\n", "fleet.broker"},
		{"no host", "fleet:\n  broker: 'mqtt://'\n", "fleet.broker"},
		{"credentials in url", "fleet:\n  broker: mqtt://u:p@x:1883\n", "fleet.broker"},
		{"wildcard prefix", "fleet:\n  broker: mqtt://x\n  topic_prefix: venue/#\n", "fleet.topic_prefix"},
		{"trailing slash", "fleet:\n  broker: mqtt://x\n  topic_prefix: venue/\n", "fleet.topic_prefix"},
		{"qos 0", "fleet:\n  broker: mqtt://x\n  qos: 0\n", "fleet.qos"},
		{"session expiry", "fleet:\n  broker: mqtt://x\n  session_expiry: 0s\n", "fleet.session_expiry"},
		{"status interval", "fleet:\n  broker: mqtt://x\n  status_interval: 10ms\n", "fleet.status_interval"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml))
			if tc.wantKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Fleet.QoS == 0 || c.Fleet.StatusInterval != 30*time.Second || c.Fleet.SessionExpiry <= 0 {
					t.Fatalf("defaults %+v", c.Fleet)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantKey+":") {
				t.Fatalf("err %v, want key %s", err, tc.wantKey)
			}
		})
	}
}
