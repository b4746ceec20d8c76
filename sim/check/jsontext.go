package check

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// JSONText is a JSON body a server sent, as Apple's JSON reader
// (NSJSONSerialization) takes it, turned into what Go's encoding/json
// reads: a leading byte-order mark is skipped, and UTF-16 or UTF-32 text
// (with or without a mark; RFC 4627 §3 tells the encoding from where the
// zero bytes fall) becomes UTF-8. note names what was undone, "" for plain
// UTF-8: RFC 8259 §8.1 forbids both in JSON a server sends, so other
// parsers may refuse what a device reads, a warning, never a failure.
// Every place that decodes a server's JSON goes through here, so a mark
// is treated alike wherever it appears.
func JSONText(body []byte) (text []byte, note string) {
	text, what := JSONUTF8(body)
	if what == "" {
		return text, ""
	}
	return text, "the body " + what + ", which JSON a server sends may not have (RFC 8259 §8.1): NSJSONSerialization reads it, so devices read the document, but other JSON parsers refuse it"
}

// JSONUTF8 is JSONText's conversion; what says what was undone ("starts
// with a UTF-8 byte-order mark"), "" for plain UTF-8.
func JSONUTF8(body []byte) (text []byte, what string) {
	enc, bom := jsonEncoding(body)
	rest := body[bom:]
	if enc == "UTF-8" {
		if bom == 0 {
			return body, ""
		}
		return rest, "starts with a UTF-8 byte-order mark (EF BB BF)"
	}
	out, ok := transcode(rest, enc)
	if !ok {
		// Not whole code units: left to the parser, which names the
		// first byte it cannot read.
		return body, ""
	}
	if bom > 0 {
		return out, fmt.Sprintf("is %s text with a byte-order mark, not UTF-8", enc)
	}
	return out, fmt.Sprintf("is %s text, not UTF-8", enc)
}

// UnmarshalServerJSON decodes a server's JSON body into v after JSONText.
func UnmarshalServerJSON(body []byte, v any) (note string, err error) {
	text, note := JSONText(body)
	return note, json.Unmarshal(text, v)
}

// jsonEncoding tells the encoding of a JSON text and the length of its
// byte-order mark: a mark if there is one, else the pattern of zero bytes
// in the first four (JSON text starts with two ASCII characters).
func jsonEncoding(b []byte) (enc string, bom int) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return "UTF-8", 3
	case bytes.HasPrefix(b, []byte{0x00, 0x00, 0xFE, 0xFF}):
		return "UTF-32BE", 4
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE, 0x00, 0x00}):
		return "UTF-32LE", 4
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return "UTF-16BE", 2
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return "UTF-16LE", 2
	case len(b) < 4:
		return "UTF-8", 0
	case b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] != 0:
		return "UTF-32BE", 0
	case b[0] != 0 && b[1] == 0 && b[2] == 0 && b[3] == 0:
		return "UTF-32LE", 0
	case b[0] == 0 && b[1] != 0 && b[2] == 0 && b[3] != 0:
		return "UTF-16BE", 0
	case b[0] != 0 && b[1] == 0 && b[2] != 0 && b[3] == 0:
		return "UTF-16LE", 0
	}
	return "UTF-8", 0
}

// transcode turns UTF-16 or UTF-32 text into UTF-8; false when the text is
// not whole code units. Unpaired surrogates and values beyond Unicode
// become U+FFFD, as the JSON parser then shows.
func transcode(b []byte, enc string) ([]byte, bool) {
	var order binary.ByteOrder = binary.BigEndian
	if enc == "UTF-16LE" || enc == "UTF-32LE" {
		order = binary.LittleEndian
	}
	out := make([]byte, 0, len(b))
	if enc == "UTF-16BE" || enc == "UTF-16LE" {
		if len(b)%2 != 0 {
			return nil, false
		}
		units := make([]uint16, len(b)/2)
		for i := range units {
			units[i] = order.Uint16(b[2*i:])
		}
		for _, r := range utf16.Decode(units) {
			out = utf8.AppendRune(out, r)
		}
		return out, true
	}
	if len(b)%4 != 0 {
		return nil, false
	}
	for i := 0; i < len(b); i += 4 {
		r := rune(order.Uint32(b[i:]))
		if !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		out = utf8.AppendRune(out, r)
	}
	return out, true
}
