package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// parseCredentials reads a broker login in one of two forms:
//
//	alice:s3cret                    one line, split at the first colon
//
//	username: alice                 YAML with exactly these two keys
//	password: s3cret
//
// Errors never quote the content.
func parseCredentials(s string) (username, password string, err error) {
	s = strings.TrimSpace(s)
	var node yaml.Node
	if yaml.Unmarshal([]byte(s), &node) == nil && len(node.Content) == 1 && node.Content[0].Kind == yaml.MappingNode {
		var c struct {
			Username string `yaml:"username"`
			Password string `yaml:"password"`
		}
		dec := yaml.NewDecoder(bytes.NewReader([]byte(s)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return "", "", errors.New("credentials: YAML form must have only the keys username and password")
		}
		if c.Username == "" {
			return "", "", errors.New("credentials: username is empty")
		}
		return c.Username, c.Password, nil
	}
	if strings.ContainsAny(s, "\r\n") {
		return "", "", errors.New("credentials: expected one line username:password or YAML username/password")
	}
	u, p, ok := strings.Cut(s, ":")
	if !ok || u == "" {
		return "", "", fmt.Errorf("credentials: expected username:password (%d characters, no colon or empty username)", len(s))
	}
	return u, p, nil
}
