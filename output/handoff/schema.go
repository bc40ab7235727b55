package handoff

import _ "embed"

// Schema is the payload's JSON Schema (docs/integrations.md quotes it).
//
//go:embed payload.schema.json
var Schema []byte
