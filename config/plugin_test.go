package config

import (
	"strings"
	"testing"
	"time"
)

func TestPlugins(t *testing.T) {
	c, err := Parse([]byte(`
outputs:
  - kind: webhook
    url: https://example.com/hook
    timeout: 2s
  - kind: webhook
    name: second-hook
    url: https://example.com/other
http:
  pages:
    - {kind: desk}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Outputs) != 2 || c.Outputs[0].Name != "webhook" || c.Outputs[1].Name != "second-hook" || c.HTTP.Pages[0].Name != "desk" {
		t.Fatalf("outputs %+v, pages %+v", c.Outputs, c.HTTP.Pages)
	}
	type hook struct {
		URL     string        `yaml:"url"`
		Timeout time.Duration `yaml:"timeout"`
	}
	var h hook
	if err := c.Outputs[0].Decode(&h); err != nil || h.URL != "https://example.com/hook" || h.Timeout != 2*time.Second {
		t.Errorf("Decode = %+v, %v", h, err)
	}
	var strict struct {
		URL string `yaml:"url"`
	}
	if err := c.Outputs[0].Decode(&strict); err == nil || err.Error() != "field timeout not found" {
		t.Errorf("an unknown key decoded: %v", err)
	}
	var none struct{}
	if err := c.HTTP.Pages[0].Decode(&none); err != nil {
		t.Errorf("an entry with no keys of its own: %v", err)
	}

	for _, tc := range []struct{ name, yaml, key string }{
		{"no kind", "outputs:\n  - {url: x}\n", "outputs[0].kind"},
		{"kind not a word", "outputs:\n  - {kind: Web Hook}\n", "outputs[0].kind"},
		{"same name twice", "outputs:\n  - {kind: webhook}\n  - {kind: webhook}\n", "outputs[1].name"},
		{"not a mapping", "outputs:\n  - webhook\n", "a mapping with a kind"},
		{"an input named camera", "inputs:\n  - {kind: hid, name: camera}\n", "inputs[0].name"},
		{"an input named desk", "inputs:\n  - {kind: serial, name: door}\n  - {kind: hid, name: desk}\n", "inputs[1].name"},
		{"an input named display", "inputs:\n  - {kind: hid, name: display}\n", "inputs[0].name"},
		{"pages without a listener", "http:\n  listen: ''\n  pages: [{kind: desk}]\n", "http.pages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.yaml)); err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Errorf("err %v, want one naming %s", err, tc.key)
			}
		})
	}
}
