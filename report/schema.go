package report

import _ "embed" // the json report's schema

// SchemaVersion is the version of the reports' data: the json report's
// schema_version, the jsonl stream's run-start schema_version and the junit
// testsuites' property schema_version. It changes when a key is renamed or
// removed or its meaning changes; adding a key keeps it.
const SchemaVersion = "1"

//go:embed schema/report.schema.json
var reportSchema []byte

// JSONSchema is the JSON Schema (draft 2020-12) of the json report.
func JSONSchema() []byte { return append([]byte(nil), reportSchema...) }
