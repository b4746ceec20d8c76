package ddm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/enrollsim/enrollsim/sim/check"
)

// Limits bound what the parsers read from a server: a hostile body is refused before it
// costs the simulator memory or time.
type Limits struct {
	MaxBytes  int // the body
	MaxDepth  int // nested objects and arrays, the top-level object counting as 1
	MaxValues int // JSON tokens in the body: objects, arrays, keys, strings, numbers, literals
	MaxItems  int // entries in each declaration-items list
}

// DefaultLimits are far above what a real server sends: Apple's Identifier and ServerToken
// "should not exceed 64 octets" (declarationbase.yaml), a sync token 256 (Integrating
// Declarative Management), and a declaration payload is a small dictionary.
var DefaultLimits = Limits{MaxBytes: 1 << 20, MaxDepth: 32, MaxValues: 100000, MaxItems: 1000}

// Tokens is a tokens answer (Apple's TokensResponse): SyncTokens.DeclarationsToken and .Timestamp.
type Tokens struct {
	DeclarationsToken string
	Timestamp         time.Time
}

// Item is one entry of a declaration-items answer. Kind is not on the wire: ParseItems sets it
// from the list the item is in (activation, configuration, asset, management), as
// DeclarationPath takes it.
type Item struct {
	Identifier, ServerToken string
	Kind                    string
}

// Items is a declaration-items answer (Apple's DeclarationItemsResponse).
type Items struct {
	Activations, Configurations, Assets, Management []Item
	DeclarationsToken                               string
}

// All is every item, activations first, in the order of the answer.
func (it Items) All() []Item {
	out := make([]Item, 0, len(it.Activations)+len(it.Configurations)+len(it.Assets)+len(it.Management))
	for _, l := range [][]Item{it.Activations, it.Configurations, it.Assets, it.Management} {
		out = append(out, l...)
	}
	return out
}

// Declaration is a declaration answer (Apple's declarationbase.yaml).
type Declaration struct {
	Type, Identifier, ServerToken string
	Payload                       map[string]any
}

// BodyError is what a parser refuses: Path names the key (SyncTokens.Timestamp,
// Declarations.Assets[2].ServerToken; "" for the body as a whole), Problem says what is wrong.
type BodyError struct {
	Path    string
	Problem string
}

func (e *BodyError) Error() string {
	if e.Path == "" {
		return "the body " + e.Problem
	}
	return e.Path + " " + e.Problem
}

func bodyErr(path, format string, a ...any) error {
	return &BodyError{Path: path, Problem: fmt.Sprintf(format, a...)}
}

// ParseTokens reads a tokens answer within DefaultLimits.
func ParseTokens(body []byte) (Tokens, error) { return DefaultLimits.ParseTokens(body) }

// ParseItems reads a declaration-items answer within DefaultLimits.
func ParseItems(body []byte) (Items, error) { return DefaultLimits.ParseItems(body) }

// ParseDeclaration reads a declaration answer within DefaultLimits.
func ParseDeclaration(body []byte) (Declaration, error) { return DefaultLimits.ParseDeclaration(body) }

// ParseTokens reads a tokens answer within l. Apple marks SyncTokens (tokensresponse.yaml),
// and its DeclarationsToken and Timestamp (SynchronizationTokens, Apple's documentation)
// required; Timestamp is a date-time "YYYY-mm-ddTHH:MM:SSZ", read here as RFC 3339.
func (l Limits) ParseTokens(body []byte) (Tokens, error) {
	top, err := l.object(body)
	if err != nil {
		return Tokens{}, err
	}
	st, err := objectAt(top, "SyncTokens", "SyncTokens")
	if err != nil {
		return Tokens{}, err
	}
	var t Tokens
	if t.DeclarationsToken, err = stringAt(st, "DeclarationsToken", "SyncTokens.DeclarationsToken"); err != nil {
		return Tokens{}, err
	}
	ts, err := stringAt(st, "Timestamp", "SyncTokens.Timestamp")
	if err != nil {
		return Tokens{}, err
	}
	if t.Timestamp, err = time.Parse(time.RFC3339, ts); err != nil {
		return Tokens{}, bodyErr("SyncTokens.Timestamp", "%q is not an RFC 3339 date-time", clip(ts))
	}
	return t, nil
}

// itemLists are the lists of a declaration-items answer and the kind of their items.
var itemLists = [4]struct{ key, kind string }{
	{"Activations", "activation"}, {"Configurations", "configuration"}, {"Assets", "asset"}, {"Management", "management"},
}

// ParseItems reads a declaration-items answer within l. Apple marks the four lists and
// DeclarationsToken required, and each item's Identifier and ServerToken; an identifier
// listed twice is refused (Apple: it "uniquely" identifies the declaration).
func (l Limits) ParseItems(body []byte) (Items, error) {
	top, err := l.object(body)
	if err != nil {
		return Items{}, err
	}
	decl, err := objectAt(top, "Declarations", "Declarations")
	if err != nil {
		return Items{}, err
	}
	var it Items
	if it.DeclarationsToken, err = stringAt(top, "DeclarationsToken", "DeclarationsToken"); err != nil {
		return Items{}, err
	}
	seen := map[string]string{}
	lists := [4]*[]Item{&it.Activations, &it.Configurations, &it.Assets, &it.Management}
	for i, li := range itemLists {
		if *lists[i], err = l.itemList(decl, li.key, li.kind, seen); err != nil {
			return Items{}, err
		}
	}
	return it, nil
}

func (l Limits) itemList(decl map[string]any, key, kind string, seen map[string]string) ([]Item, error) {
	path := "Declarations." + key
	v, ok := decl[key]
	if !ok {
		return nil, bodyErr(path, "is missing")
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, bodyErr(path, "is %s, not an array", typeName(v))
	}
	if len(arr) > l.MaxItems {
		return nil, bodyErr(path, "has %d items, more than the %d the simulator reads", len(arr), l.MaxItems)
	}
	out := make([]Item, 0, len(arr))
	for i, e := range arr {
		p := fmt.Sprintf("%s[%d]", path, i)
		m, ok := e.(map[string]any)
		if !ok {
			return nil, bodyErr(p, "is %s, not an object", typeName(e))
		}
		it := Item{Kind: kind}
		var err error
		if it.Identifier, err = identifierAt(m, p+".Identifier"); err != nil {
			return nil, err
		}
		if it.ServerToken, err = stringAt(m, "ServerToken", p+".ServerToken"); err != nil {
			return nil, err
		}
		if prev, dup := seen[it.Identifier]; dup {
			return nil, bodyErr(p+".Identifier", "%q is listed already at %s", clip(it.Identifier), prev)
		}
		seen[it.Identifier] = p
		out = append(out, it)
	}
	return out, nil
}

// ParseDeclaration reads a declaration answer within l: Type, Identifier, ServerToken and
// Payload are required (declarationbase.yaml).
func (l Limits) ParseDeclaration(body []byte) (Declaration, error) {
	top, err := l.object(body)
	if err != nil {
		return Declaration{}, err
	}
	var d Declaration
	if d.Type, err = stringAt(top, "Type", "Type"); err != nil {
		return Declaration{}, err
	}
	if d.Type == "" {
		return Declaration{}, bodyErr("Type", "is empty")
	}
	if d.Identifier, err = identifierAt(top, "Identifier"); err != nil {
		return Declaration{}, err
	}
	if d.ServerToken, err = stringAt(top, "ServerToken", "ServerToken"); err != nil {
		return Declaration{}, err
	}
	if d.Payload, err = objectAt(top, "Payload", "Payload"); err != nil {
		return Declaration{}, err
	}
	return d, nil
}

// object reads a body that must be one JSON object, as NSJSONSerialization does (a byte-order
// mark or UTF-16/32 is read, check.JSONUTF8), within l. Go's decoder would take invalid UTF-8
// as U+FFFD; Apple's reader refuses it, so does this.
func (l Limits) object(body []byte) (map[string]any, error) {
	if len(body) > l.MaxBytes {
		return nil, bodyErr("", "is %d bytes, more than the %d the simulator reads", len(body), l.MaxBytes)
	}
	text, _ := check.JSONUTF8(body)
	if len(bytes.TrimSpace(text)) == 0 {
		return nil, bodyErr("", "is empty")
	}
	if !utf8.Valid(text) {
		return nil, bodyErr("", "is not valid UTF-8 (from byte %d)", firstInvalid(text))
	}
	if err := l.shape(text); err != nil {
		return nil, err
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, bodyErr("", "is not JSON: %v", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, bodyErr("", "is %s, not a JSON object", typeName(v))
	}
	return m, nil
}

// shape walks the tokens before anything is built: nesting and the number of values stay
// within l, and nothing follows the one value.
func (l Limits) shape(text []byte) error {
	dec := json.NewDecoder(bytes.NewReader(text))
	depth, values := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return bodyErr("", "is not JSON: %v", err)
		}
		if depth == 0 && values > 0 {
			return bodyErr("", "has data after its JSON value (at byte %d)", dec.InputOffset())
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			if depth > l.MaxDepth {
				return bodyErr("", "nests deeper than %d levels", l.MaxDepth)
			}
		case json.Delim('}'), json.Delim(']'):
			depth--
			continue
		}
		if values++; values > l.MaxValues {
			return bodyErr("", "has more than %d values", l.MaxValues)
		}
	}
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func objectAt(m map[string]any, key, path string) (map[string]any, error) {
	v, ok := m[key]
	if !ok {
		return nil, bodyErr(path, "is missing")
	}
	o, ok := v.(map[string]any)
	if !ok {
		return nil, bodyErr(path, "is %s, not an object", typeName(v))
	}
	return o, nil
}

func stringAt(m map[string]any, key, path string) (string, error) {
	v, ok := m[key]
	if !ok {
		return "", bodyErr(path, "is missing")
	}
	s, ok := v.(string)
	if !ok {
		return "", bodyErr(path, "is %s, not a string", typeName(v))
	}
	return s, nil
}

// identifierAt reads an Identifier: a non-empty string, since the device keys its
// declarations by it and names it in the declaration endpoint.
func identifierAt(m map[string]any, path string) (string, error) {
	s, err := stringAt(m, "Identifier", path)
	if err == nil && s == "" {
		err = bodyErr(path, "is empty")
	}
	return s, err
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// clip shortens a server's string for an error message.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	cut := 64
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// IsBodyError says whether err is a parser's refusal of the body (not a bug of the caller).
func IsBodyError(err error) bool {
	var be *BodyError
	return errors.As(err, &be)
}
