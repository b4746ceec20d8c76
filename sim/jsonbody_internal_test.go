package sim

import (
	"encoding/binary"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/enrollsim/enrollsim/sim/check"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// encodings are the forms of one JSON text NSJSONSerialization reads, and
// what the simulator must name for each ("" for plain UTF-8).
func encodings(text string) []struct{ name, body, names string } {
	u16 := func(order binary.AppendByteOrder, bom bool) string {
		var b []byte
		if bom {
			b = order.AppendUint16(b, 0xFEFF)
		}
		for _, u := range utf16.Encode([]rune(text)) {
			b = order.AppendUint16(b, u)
		}
		return string(b)
	}
	u32 := func(order binary.AppendByteOrder, bom bool) string {
		var b []byte
		if bom {
			b = order.AppendUint32(b, 0xFEFF)
		}
		for _, r := range text {
			b = order.AppendUint32(b, uint32(r))
		}
		return string(b)
	}
	return []struct{ name, body, names string }{
		{"UTF-8", text, ""},
		{"UTF-8 with a mark", "\xEF\xBB\xBF" + text, "starts with a UTF-8 byte-order mark (EF BB BF)"},
		{"UTF-16LE with a mark", u16(binary.LittleEndian, true), "is UTF-16LE text with a byte-order mark, not UTF-8"},
		{"UTF-16BE with a mark", u16(binary.BigEndian, true), "is UTF-16BE text with a byte-order mark, not UTF-8"},
		{"UTF-16LE", u16(binary.LittleEndian, false), "is UTF-16LE text, not UTF-8"},
		{"UTF-16BE", u16(binary.BigEndian, false), "is UTF-16BE text, not UTF-8"},
		{"UTF-32LE with a mark", u32(binary.LittleEndian, true), "is UTF-32LE text with a byte-order mark, not UTF-8"},
		{"UTF-32BE", u32(binary.BigEndian, false), "is UTF-32BE text, not UTF-8"},
	}
}

// Every reader of a server's JSON takes each encoding a device reads, and
// says which it was: the discovery document, a 403 rejection, a token
// answer and an AxM registration body.
func TestEveryServerJSONReaderTakesWhatDevicesRead(t *testing.T) {
	readers := []struct {
		name string
		text string
		read func(t *testing.T, body []byte) (note string)
	}{
		{"discovery document", `{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll"}]}`, func(t *testing.T, body []byte) string {
			hdr := http.Header{"Content-Type": {"application/json"}}
			doc, failure := parseDiscovery(&response{status: http.StatusOK, header: hdr, body: body}, nil)
			assert.Empty(t, failure)
			assert.Equal(t, "mdm-byod", doc.Version)
			// WK-003 names what the device read differently, as a warning.
			o := &check.Discovery{NoProbes: true, Chain: check.DiscoveryChain{Reached: true, URLs: []string{"https://acme.test/"},
				Hops: []check.DiscoveryHop{{Status: http.StatusOK, Header: check.Header(hdr), Body: body}}}}
			for _, res := range check.JudgeWellKnown(o).Results {
				if res.ID == "WK-003" {
					assert.Contains(t, []check.Status{check.Pass, check.Warn}, res.Status)
					return res.Actual
				}
			}
			t.Fatal("no WK-003")
			return ""
		}},
		{"403 rejection", `{"code":"com.apple.well-known.failed","message":"Ask IT"}`, func(t *testing.T, body []byte) string {
			rej := parseRejection(&response{status: http.StatusForbidden, body: body})
			require.NotNil(t, rej)
			assert.Equal(t, "json", rej.format)
			assert.Equal(t, "com.apple.well-known.failed", rej.code)
			assert.Equal(t, "Ask IT", rej.message)
			return rej.note
		}},
		{"token answer", `{"token_type":"Bearer","access_token":"tok-1","expires_in":3600,"refresh_token":"ref-1"}`, func(t *testing.T, body []byte) string {
			access, refresh, problems := parseTokenResponse(&response{status: http.StatusOK, body: body})
			assert.Empty(t, problems)
			assert.Equal(t, "tok-1", access)
			assert.Equal(t, "ref-1", refresh)
			_, note := JSONText(body)
			return note
		}},
		{"AxM registration body", goodBody, func(t *testing.T, body []byte) string {
			assert.Equal(t, "https://mdm.acme.test/mdm/service-discovery", check.RegisteredURL(body))
			_, what := check.JSONUTF8(body)
			return what
		}},
	}
	for _, rd := range readers {
		for _, enc := range encodings(rd.text) {
			t.Run(rd.name+"/"+enc.name, func(t *testing.T) {
				note := rd.read(t, []byte(enc.body))
				if enc.names == "" {
					assert.Empty(t, note)
				} else {
					assert.Contains(t, note, enc.names)
				}
			})
		}
	}
}

// The next reader of a server's JSON must go through JSONText: in this
// package no function but the helper itself hands a response body (an
// expression that names a body) to encoding/json; the discovery decoder
// is package check's, and calls JSONText first. JSON that is no response body (a string
// literal, a token's decoded header) is not a server's document.
func TestServerJSONHasOneReader(t *testing.T) {
	allowed := map[string]bool{"unmarshalServerJSON": true}
	namesBody := func(e ast.Expr) bool {
		found := false
		ast.Inspect(e, func(n ast.Node) bool {
			switch v := n.(type) {
			case *ast.Ident:
				found = found || strings.EqualFold(v.Name, "body")
			case *ast.SelectorExpr:
				found = found || strings.EqualFold(v.Sel.Name, "body")
			}
			return !found
		})
		return found
	}
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil || allowed[fn.Name.Name] {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "json" || (sel.Sel.Name != "Unmarshal" && sel.Sel.Name != "NewDecoder") {
					return true
				}
				if namesBody(call.Args[0]) {
					t.Errorf("%s: %s hands a body to json.%s: decode a server's JSON with unmarshalServerJSON (a byte-order mark or UTF-16 must read as a device reads it)", fset.Position(sel.Pos()), fn.Name.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
}
