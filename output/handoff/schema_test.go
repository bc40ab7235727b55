package handoff

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/verify"
)

type schemaNode struct {
	Required   []string              `json:"required"`
	Properties map[string]schemaNode `json:"properties"`
	Enum       []string              `json:"enum"`
}

// fieldsOf lists a struct's JSON names, and those that are always present.
func fieldsOf(t reflect.Type) (all, required []string) {
	for i := range t.NumField() {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	slices.Sort(all)
	slices.Sort(required)
	return all, required
}

func keys(m map[string]schemaNode) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The JSON Schema of docs/integrations.md says what Payload encodes: the
// same properties, required exactly when always present, and the reason
// vocabulary of package verify.
func TestSchemaMatchesPayload(t *testing.T) {
	var root schemaNode
	if err := json.Unmarshal(Schema, &root); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		node schemaNode
		typ  reflect.Type
	}{
		{"payload", root, reflect.TypeFor[Payload]()},
		{"holder", root.Properties["holder"], reflect.TypeFor[Holder]()},
		{"visit", root.Properties["visit"], reflect.TypeFor[Visit]()},
	} {
		all, required := fieldsOf(c.typ)
		req := slices.Clone(c.node.Required)
		slices.Sort(req)
		if got := keys(c.node.Properties); !slices.Equal(got, all) {
			t.Errorf("%s: schema properties %v, struct fields %v", c.name, got, all)
		}
		if !slices.Equal(req, required) {
			t.Errorf("%s: schema requires %v, the struct always has %v", c.name, req, required)
		}
	}
	var reasons []string
	for _, r := range verify.Reasons() {
		reasons = append(reasons, r.String())
	}
	if got := root.Properties["reason"].Enum; !slices.Equal(got, reasons) {
		t.Errorf("schema reasons %v, verify's %v", got, reasons)
	}
}

// docs/integrations.md quotes the schema file verbatim.
func TestSchemaInDocs(t *testing.T) {
	doc, err := os.ReadFile("../../docs/integrations.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```json\n"+string(Schema)+"```\n") {
		t.Fatal("docs/integrations.md does not quote output/handoff/payload.schema.json as it is")
	}
	// Its example payload is one Payload, every field known.
	_, rest, _ := strings.Cut(string(doc), "## The payload\n\n```json\n")
	example, _, _ := strings.Cut(rest, "```")
	dec := json.NewDecoder(strings.NewReader(example))
	dec.DisallowUnknownFields()
	var p Payload
	if err := dec.Decode(&p); err != nil || p.V != Version || p.Holder == nil || p.Visit == nil {
		t.Fatalf("the example payload: %v %+v", err, p)
	}
}
