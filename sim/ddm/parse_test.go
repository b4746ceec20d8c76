package ddm

import (
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// parseCase is a body and the error it must give ("" for none): a substring, so the test
// pins the path and the problem the error names.
type parseCase struct {
	name, body, err string
}

const goodTokens = `{"SyncTokens":{"DeclarationsToken":"tok-1","Timestamp":"2026-12-07T06:00:00Z"}}`

const goodItems = `{"Declarations":{"Activations":[{"Identifier":"act","ServerToken":"a1"}],` +
	`"Configurations":[{"Identifier":"pass","ServerToken":"c1"},{"Identifier":"legacy","ServerToken":"c2"}],` +
	`"Assets":[],"Management":[{"Identifier":"org","ServerToken":"m1"}]},"DeclarationsToken":"tok-1"}`

const goodDeclaration = `{"Type":"com.apple.activation.simple","Identifier":"act","ServerToken":"a1",` +
	`"Payload":{"StandardConfigurations":["pass"],"Big":12345678901234567890}}`

// hostile are bodies every parser refuses alike.
func hostile() []parseCase {
	return []parseCase{
		{"empty", "", "the body is empty"},
		{"blank", " \n\t", "the body is empty"},
		{"array", `[]`, "is an array, not a JSON object"},
		{"string", `"x"`, "is a string, not a JSON object"},
		{"null", `null`, "is null, not a JSON object"},
		{"truncated", `{"SyncTokens":`, "is not JSON"},
		{"trailing", `{} {}`, "has data after its JSON value"},
		{"trailing garbage", `{}x`, "is not JSON"},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", "is not valid UTF-8 (from byte 6)"},
		{"deep", strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40), "nests deeper than 32 levels"},
		{"deep arrays", `{"a":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}`, "nests deeper than 32 levels"},
		{"huge", `{"a":"` + strings.Repeat("x", 1<<20) + `"}`, "more than the 1048576 the simulator reads"},
		{"many values", `{"a":[` + strings.Repeat(`1,`, 100000) + `1]}`, "has more than 100000 values"},
	}
}

func runParse(t *testing.T, cases []parseCase, parse func([]byte) error) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := parse([]byte(c.body))
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.err != "" && err == nil:
				t.Fatalf("no error, want %q", c.err)
			case c.err != "" && !strings.Contains(err.Error(), c.err):
				t.Fatalf("error %q, want it to contain %q", err, c.err)
			case err != nil && !IsBodyError(err):
				t.Fatalf("error %v is not a *BodyError", err)
			}
		})
	}
}

func utf16LE(s string) string {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

func TestParseTokens(t *testing.T) {
	got, err := ParseTokens([]byte(goodTokens))
	want := Tokens{DeclarationsToken: "tok-1", Timestamp: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)}
	if err != nil || got.DeclarationsToken != want.DeclarationsToken || !got.Timestamp.Equal(want.Timestamp) {
		t.Fatalf("ParseTokens = %+v, %v; want %+v", got, err, want)
	}
	cases := append(hostile(),
		parseCase{"good", goodTokens, ""},
		parseCase{"BOM", "\xEF\xBB\xBF" + goodTokens, ""},
		parseCase{"UTF-16 with BOM", utf16LE(goodTokens), ""},
		parseCase{"fractional seconds and offset", `{"SyncTokens":{"DeclarationsToken":"t","Timestamp":"2026-12-07T06:00:00.123+01:00"}}`, ""},
		parseCase{"unknown keys", `{"SyncTokens":{"DeclarationsToken":"t","Timestamp":"2026-12-07T06:00:00Z","X":1},"Y":[]}`, ""},
		parseCase{"no SyncTokens", `{"DeclarationsToken":"t"}`, "SyncTokens is missing"},
		parseCase{"SyncTokens array", `{"SyncTokens":[]}`, "SyncTokens is an array, not an object"},
		parseCase{"token number", `{"SyncTokens":{"DeclarationsToken":7,"Timestamp":"2026-12-07T06:00:00Z"}}`, "SyncTokens.DeclarationsToken is a number, not a string"},
		parseCase{"no token", `{"SyncTokens":{"Timestamp":"2026-12-07T06:00:00Z"}}`, "SyncTokens.DeclarationsToken is missing"},
		parseCase{"no timestamp", `{"SyncTokens":{"DeclarationsToken":"t"}}`, "SyncTokens.Timestamp is missing"},
		parseCase{"timestamp number", `{"SyncTokens":{"DeclarationsToken":"t","Timestamp":1765087200}}`, "SyncTokens.Timestamp is a number, not a string"},
		parseCase{"timestamp not RFC 3339", `{"SyncTokens":{"DeclarationsToken":"t","Timestamp":"Mon, 07 Dec 2026 06:00:00 GMT"}}`, `SyncTokens.Timestamp "Mon, 07 Dec 2026 06:00:00 GMT" is not an RFC 3339 date-time`},
	)
	runParse(t, cases, func(b []byte) error { _, err := ParseTokens(b); return err })
}

func TestParseItems(t *testing.T) {
	got, err := ParseItems([]byte(goodItems))
	if err != nil {
		t.Fatal(err)
	}
	if got.DeclarationsToken != "tok-1" || len(got.Activations) != 1 || len(got.Configurations) != 2 || len(got.Assets) != 0 || len(got.Management) != 1 {
		t.Fatalf("ParseItems = %+v", got)
	}
	if c := got.Configurations[1]; c != (Item{Identifier: "legacy", ServerToken: "c2", Kind: KindConfiguration}) {
		t.Fatalf("Configurations[1] = %+v", c)
	}
	if a := got.All(); len(a) != 4 || a[0].Kind != KindActivation || a[3].Kind != KindManagement {
		t.Fatalf("All = %+v", a)
	}
	many := make([]string, 1001)
	for i := range many {
		many[i] = `{"Identifier":"i` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `","ServerToken":"s"}`
	}
	lists := func(act string) string {
		return `{"Declarations":{"Activations":` + act + `,"Configurations":[],"Assets":[],"Management":[]},"DeclarationsToken":"t"}`
	}
	cases := append(hostile(),
		parseCase{"good", goodItems, ""},
		parseCase{"BOM", "\xEF\xBB\xBF" + goodItems, ""},
		parseCase{"no Declarations", `{"DeclarationsToken":"t"}`, "Declarations is missing"},
		parseCase{"no token", `{"Declarations":{"Activations":[],"Configurations":[],"Assets":[],"Management":[]}}`, "DeclarationsToken is missing"},
		parseCase{"token null", `{"Declarations":{"Activations":[],"Configurations":[],"Assets":[],"Management":[]},"DeclarationsToken":null}`, "DeclarationsToken is null, not a string"},
		parseCase{"no Assets", `{"Declarations":{"Activations":[],"Configurations":[],"Management":[]},"DeclarationsToken":"t"}`, "Declarations.Assets is missing"},
		parseCase{"list object", lists(`{}`), "Declarations.Activations is an object, not an array"},
		parseCase{"item string", lists(`["act"]`), "Declarations.Activations[0] is a string, not an object"},
		parseCase{"no ServerToken", lists(`[{"Identifier":"a"}]`), "Declarations.Activations[0].ServerToken is missing"},
		parseCase{"ServerToken bool", lists(`[{"Identifier":"a","ServerToken":true}]`), "Declarations.Activations[0].ServerToken is a boolean, not a string"},
		parseCase{"empty Identifier", lists(`[{"Identifier":"","ServerToken":"s"}]`), "Declarations.Activations[0].Identifier is empty"},
		parseCase{"duplicate", lists(`[{"Identifier":"a","ServerToken":"s"},{"Identifier":"a","ServerToken":"s"}]`), `Declarations.Activations[1].Identifier "a" is listed already at Declarations.Activations[0]`},
		parseCase{"huge array", lists(`[` + strings.Join(many, ",") + `]`), "Declarations.Activations has 1001 items, more than the 1000"},
	)
	runParse(t, cases, func(b []byte) error { _, err := ParseItems(b); return err })
}

func TestParseDeclaration(t *testing.T) {
	got, err := ParseDeclaration([]byte(goodDeclaration))
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != "com.apple.activation.simple" || got.Identifier != "act" || got.ServerToken != "a1" || len(got.Payload) != 2 {
		t.Fatalf("ParseDeclaration = %+v", got)
	}
	// Numbers stay as written: a payload's large integer is not rounded through float64.
	if n := got.Payload["Big"]; n == nil || typeName(n) != "a number" {
		t.Fatalf("Payload.Big = %#v", n)
	}
	cases := append(hostile(),
		parseCase{"good", goodDeclaration, ""},
		parseCase{"BOM", "\xEF\xBB\xBF" + goodDeclaration, ""},
		parseCase{"no Type", `{"Identifier":"a","ServerToken":"s","Payload":{}}`, "Type is missing"},
		parseCase{"empty Type", `{"Type":"","Identifier":"a","ServerToken":"s","Payload":{}}`, "Type is empty"},
		parseCase{"Identifier number", `{"Type":"x","Identifier":1,"ServerToken":"s","Payload":{}}`, "Identifier is a number, not a string"},
		parseCase{"no ServerToken", `{"Type":"x","Identifier":"a","Payload":{}}`, "ServerToken is missing"},
		parseCase{"no Payload", `{"Type":"x","Identifier":"a","ServerToken":"s"}`, "Payload is missing"},
		parseCase{"Payload array", `{"Type":"x","Identifier":"a","ServerToken":"s","Payload":[]}`, "Payload is an array, not an object"},
		parseCase{"Payload null", `{"Type":"x","Identifier":"a","ServerToken":"s","Payload":null}`, "Payload is null, not an object"},
		parseCase{"long Identifier clipped", `{"Type":"x","Identifier":"` + strings.Repeat("é", 100) + `","ServerToken":"s","Payload":[]}`, "Payload is an array"},
	)
	runParse(t, cases, func(b []byte) error { _, err := ParseDeclaration(b); return err })
}

func TestLimitsAreTheCallers(t *testing.T) {
	l := Limits{MaxBytes: 100, MaxDepth: 1, MaxValues: 10, MaxItems: 1}
	if _, err := l.ParseTokens([]byte(goodTokens)); err == nil || !strings.Contains(err.Error(), "nests deeper than 1") {
		t.Fatalf("depth 1: %v", err)
	}
	if _, err := l.ParseItems([]byte(goodItems)); err == nil || !strings.Contains(err.Error(), "more than the 100") {
		t.Fatalf("100 bytes: %v", err)
	}
}

func TestClip(t *testing.T) {
	s := clip(strings.Repeat("é", 100))
	if !strings.HasSuffix(s, "…") || len(s) > 64+len("…") {
		t.Fatalf("clip = %q", s)
	}
	if clip("short") != "short" {
		t.Fatal("clip changed a short string")
	}
}
