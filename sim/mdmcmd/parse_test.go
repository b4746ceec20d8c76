package mdmcmd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/sim/profile"
	"howett.net/plist"
)

const xmlHead = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
`

func TestParse(t *testing.T) {
	cmd := map[string]any{
		"CommandUUID": "9F09D114-BCFD-42AD-A974-371AA7D6256E",
		"Command":     map[string]any{"RequestType": "DeviceInformation", "Queries": []any{"UDID", "DeviceName"}},
	}
	for _, format := range []int{plist.XMLFormat, plist.BinaryFormat} {
		b, err := plist.Marshal(cmd, format)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(b)
		if err != nil {
			t.Fatalf("format %d: %v", format, err)
		}
		if c.UUID != "9F09D114-BCFD-42AD-A974-371AA7D6256E" || c.RequestType != "DeviceInformation" {
			t.Errorf("format %d: got %+v", format, c)
		}
		if got := queries(c); len(got) != 2 || got[0] != "UDID" {
			t.Errorf("format %d: Queries = %v", format, got)
		}
	}
}

// hostile are answers a broken or hostile server may send. Every one must
// end in an error that says what was wrong, fast, never a panic.
func hostile() []struct {
	name, want string
	body       []byte
} {
	dict := func(inner string) []byte { return []byte(xmlHead + "<dict>" + inner + "</dict></plist>") }
	deep := xmlHead + strings.Repeat("<array>", 10_000) + strings.Repeat("</array>", 10_000) + "</plist>"
	wide := xmlHead + "<array>" + strings.Repeat("<dict/>", 60_000) + "</array></plist>"
	return []struct {
		name, want string
		body       []byte
	}{
		{"empty", "no content", nil},
		{"garbage", "not XML or binary", []byte("\x00\x01\x02garbage\xff")},
		{"json", "not XML or binary", []byte(`{"CommandUUID":"x"}`)},
		{"html", "not a property list", []byte("<html><body>502 Bad Gateway</body></html>")},
		{"truncated xml", "not a property list", []byte(xmlHead + "<dict><key>CommandUUID</key><string>x")},
		{"truncated binary", "not a property list", []byte("bplist00\xd1\x01\x02")},
		{"huge", "more than the limit", append([]byte(xmlHead+"<data>"), bytes.Repeat([]byte("A"), 5<<20)...)},
		{"deep nesting", "nests deeper", []byte(deep)},
		{"many objects", "more than", []byte(wide)},
		{"binary bomb", "more than", bplistBomb()},
		{"top level array", "not a dictionary", []byte(xmlHead + "<array/></plist>")},
		{"no CommandUUID", "has no CommandUUID", dict("<key>Command</key><dict><key>RequestType</key><string>ProfileList</string></dict>")},
		{"CommandUUID an integer", "CommandUUID in the command is an integer", dict("<key>CommandUUID</key><integer>7</integer>")},
		{"CommandUUID empty", "CommandUUID in the command is empty", dict("<key>CommandUUID</key><string> </string>")},
		{"no Command", "no Command dictionary", dict("<key>CommandUUID</key><string>x</string>")},
		{"Command a string", "Command is a string", dict("<key>CommandUUID</key><string>x</string><key>Command</key><string>ProfileList</string>")},
		{"no RequestType", "has no RequestType", dict("<key>CommandUUID</key><string>x</string><key>Command</key><dict/>")},
		{"RequestType an array", "RequestType in the Command dictionary is an array", dict("<key>CommandUUID</key><string>x</string><key>Command</key><dict><key>RequestType</key><array/></dict>")},
		{"RequestType data", "is data", dict("<key>CommandUUID</key><string>x</string><key>Command</key><dict><key>RequestType</key><data>AAAA</data></dict>")},
	}
}

// bplistBomb is a binary plist whose arrays all point at one another's
// single child many times over: tiny on the wire, billions of objects once
// shared references are expanded.
func bplistBomb() []byte {
	const levels, fan = 12, 16
	var objs [][]byte
	objs = append(objs, []byte{0x50}) // object 0: empty ASCII string
	for i := 1; i <= levels; i++ {
		o := []byte{0xaf, 0x10, fan} // array with a 1-byte count follow-up
		for j := 0; j < fan; j++ {
			o = append(o, byte(i-1))
		}
		objs = append(objs, o)
	}
	buf := []byte("bplist00")
	var offsets []int
	for _, o := range objs {
		offsets = append(offsets, len(buf))
		buf = append(buf, o...)
	}
	table := len(buf)
	for _, off := range offsets {
		buf = binary.BigEndian.AppendUint16(buf, uint16(off))
	}
	trailer := make([]byte, 32)
	trailer[6] = 2 // offset size
	trailer[7] = 1 // ref size
	binary.BigEndian.PutUint64(trailer[8:], uint64(len(objs)))
	binary.BigEndian.PutUint64(trailer[16:], uint64(levels))
	binary.BigEndian.PutUint64(trailer[24:], uint64(table))
	return append(buf, trailer...)
}

func TestParseHostile(t *testing.T) {
	for _, tc := range hostile() {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				defer func() {
					if r := recover(); r != nil {
						done <- errors.New("panic")
					}
				}()
				_, err := Parse(tc.body)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("Parse accepted it")
				}
				if err.Error() == "panic" {
					t.Fatal("Parse panicked")
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %q does not say %q", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Parse did not return within 10 s")
			}
		})
	}
}

func TestParseLimitsAreMarked(t *testing.T) {
	for _, tc := range hostile() {
		if tc.name != "huge" && tc.name != "deep nesting" && tc.name != "binary bomb" {
			continue
		}
		if _, err := Parse(tc.body); !errors.Is(err, profile.ErrLimit) {
			t.Errorf("%s: error %v does not wrap profile.ErrLimit", tc.name, err)
		}
	}
}

// FuzzParse: whatever a server sends, Parse returns a command with a
// UUID and a RequestType or an error, quickly, and Answer never panics on
// what it returns. Seeds: the hostile cases and every golden answer.
func FuzzParse(f *testing.F) {
	for _, tc := range hostile() {
		if len(tc.body) < 64<<10 {
			f.Add(tc.body)
		}
	}
	f.Add([]byte(xmlHead + `<dict><key>CommandUUID</key><string>x</string><key>Command</key><dict><key>RequestType</key><string>DeviceInformation</string><key>Queries</key><array><string>UDID</string><integer>1</integer></array></dict></dict></plist>`))
	files, _ := filepath.Glob("testdata/answers/*.plist")
	for _, name := range files[:min(len(files), 16)] {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		start := time.Now()
		c, err := Parse(body)
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("Parse took %s on %d bytes", took, len(body))
		}
		if err != nil {
			return
		}
		if c.UUID == "" || c.RequestType == "" || c.Body == nil {
			t.Fatalf("Parse returned %+v and no error", c)
		}
		for _, d := range devices {
			for _, ue := range []bool{false, true} {
				d.UserEnrollment = ue
				if a := Answer(c, d); a["Status"] == nil {
					t.Fatalf("answer without Status: %v", a)
				}
				_ = Withheld(c, ue)
				_ = WithheldOn(c, d)
			}
		}
	})
}
