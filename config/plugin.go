package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Plugin is one entry of a list of plug-in parts (outputs:, http.pages:):
// kind names a kind registered by a package linked into kioskd, name (the
// kind by default) tells entries apart in logs and the status, and every
// other key is the kind's own, decoded by the kind into its Options struct
// (Decode). The config checks the shape; which kinds exist and what their
// keys mean is checked at load by the assembler through the registries, so
// a new kind adds no code here.
type Plugin struct {
	Kind string
	Name string
	// Line is where the entry starts in the file, for messages.
	Line  int
	block yaml.Node // the entry without kind and name
}

// UnmarshalYAML keeps the entry's own keys for Decode.
func (p *Plugin) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: an entry is a mapping with a kind", n.Line)
	}
	p.Line = n.Line
	p.block = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "kind", "name":
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: %s is a word", v.Line, k.Value)
			}
			if k.Value == "kind" {
				p.Kind = v.Value
			} else {
				p.Name = v.Value
			}
		default:
			p.block.Content = append(p.block.Content, k, v)
		}
	}
	return nil
}

// Decode fills into (a pointer to the kind's Options struct) from the
// entry's own keys, strictly: an unknown key is an error naming it.
func (p Plugin) Decode(into any) error {
	var buf bytes.Buffer
	if len(p.block.Content) > 0 {
		enc := yaml.NewEncoder(&buf)
		if err := enc.Encode(&p.block); err != nil {
			return err
		}
		if err := enc.Close(); err != nil {
			return err
		}
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	err := dec.Decode(into)
	var te *yaml.TypeError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &te):
		// The lines are those of the re-encoded block, not of the file:
		// keep what is wrong, the caller names the entry and its line.
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			m = yamlLine.ReplaceAllString(m, "")
			m, _, _ = strings.Cut(m, " in type ")
			msgs[i] = m
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return err
}

var yamlLine = regexp.MustCompile(`^line \d+: `)

var pluginName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// validatePlugins checks a list's shape: a kind on every entry and names
// that tell the entries apart.
func validatePlugins(key string, ps []Plugin) error {
	seen := map[string]bool{}
	for i := range ps {
		p := &ps[i]
		at := fmt.Sprintf("%s[%d]", key, i)
		if !pluginName.MatchString(p.Kind) {
			return keyErr(at+".kind", "must name a kind (lower-case letters, digits, - and _), not %q", p.Kind)
		}
		if p.Name == "" {
			p.Name = p.Kind
		}
		if !pluginName.MatchString(p.Name) {
			return keyErr(at+".name", "must be lower-case letters, digits, - and _, not %q", p.Name)
		}
		if seen[p.Name] {
			return keyErr(at+".name", "%q is used twice in %s: name the entries apart", p.Name, key)
		}
		seen[p.Name] = true
	}
	return nil
}
