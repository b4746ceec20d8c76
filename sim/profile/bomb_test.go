package profile

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"howett.net/plist"
)

// bplistObj encodes one binary plist object; refs are 4 bytes wide.
type bplistObj []byte

func bpCount(marker byte, n int) []byte {
	if n < 15 {
		return []byte{marker | byte(n)}
	}
	b := []byte{marker | 0xf, 0x12, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[2:], uint32(n))
	return b
}

func bpString(s string) bplistObj { return append(bpCount(0x50, len(s)), s...) }

func bpArray(refs ...int) bplistObj {
	b := bpCount(0xA0, len(refs))
	for _, r := range refs {
		b = binary.BigEndian.AppendUint32(b, uint32(r))
	}
	return b
}

func bpDict(keys, vals []int) bplistObj {
	b := bpCount(0xD0, len(keys))
	for _, r := range append(append([]int{}, keys...), vals...) {
		b = binary.BigEndian.AppendUint32(b, uint32(r))
	}
	return b
}

func repeat(ref, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = ref
	}
	return out
}

// bplistFile lays objects out with a 4-byte offset table and trailer.
func bplistFile(top int, objs ...bplistObj) []byte {
	b := []byte("bplist00")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = len(b)
		b = append(b, o...)
	}
	table := len(b)
	for _, o := range offs {
		b = binary.BigEndian.AppendUint32(b, uint32(o))
	}
	trailer := make([]byte, 32)
	trailer[6], trailer[7] = 4, 4
	binary.BigEndian.PutUint64(trailer[8:], uint64(len(objs)))
	binary.BigEndian.PutUint64(trailer[16:], uint64(top))
	binary.BigEndian.PutUint64(trailer[24:], uint64(table))
	return append(b, trailer...)
}

// laughs is the binary "billion laughs": object 0 is a string, object k an
// array of fan references to object k-1; the top dictionary holds the last
// level as PayloadContent. levels=10, fan=16 expands to 16^10 objects from a
// few hundred bytes.
func laughs(levels, fan int) []byte {
	objs := []bplistObj{bpString("lol")}
	for k := 1; k <= levels; k++ {
		objs = append(objs, bpArray(repeat(k-1, fan)...))
	}
	keyPT, valPT, keyPC := len(objs), len(objs)+1, len(objs)+2
	objs = append(objs, bpString("PayloadType"), bpString("Configuration"), bpString("PayloadContent"))
	objs = append(objs, bpDict([]int{keyPT, keyPC}, []int{valPT, levels}))
	return bplistFile(len(objs)-1, objs...)
}

// within runs f and fails when it takes longer than d or allocates more than
// maxAlloc bytes in all.
func within(t *testing.T, d time.Duration, maxAlloc uint64, f func()) {
	t.Helper()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("did not finish within %s", d)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%s, %d KiB allocated", elapsed.Round(time.Millisecond), alloc>>10)
	assert.Less(t, alloc, maxAlloc, "allocated %d MiB", alloc>>20)
}

func TestParseRefusesBombs(t *testing.T) {
	deepBinary := []bplistObj{bpString("x")}
	for k := 1; k <= 100; k++ {
		deepBinary = append(deepBinary, bpArray(k-1))
	}
	tooMany := make([]bplistObj, DefaultMaxObjects+1)
	for i := range tooMany {
		tooMany[i] = bplistObj{0x09}
	}
	tests := []struct {
		name    string
		body    []byte
		wantErr string
		limit   bool // the error names a limit (ErrLimit)
	}{
		{"binary shared references (billion laughs)", laughs(10, 16),
			"binary plist holds more than 100000 objects (shared references expanded); the limit guards against plist bombs", true},
		{"binary one array of a million shared slots", bplistFile(1, bpString("x"), bpArray(repeat(0, 1_000_000)...)),
			"more than 100000 objects", true},
		{"binary cycle", bplistFile(0, bpArray(0)), "contains itself (a reference cycle)", false},
		{"binary cycle through a dictionary", bplistFile(1, bpString("k"), bpDict([]int{0}, []int{2}), bpArray(1)), "reference cycle", false},
		{"binary deep nesting", bplistFile(100, deepBinary...), "nests deeper than 64 levels", true},
		{"binary declares too many objects", bplistFile(0, tooMany...), "declares 100001 objects, more than the limit of 100000", true},
		{"binary count beyond the file", []byte("bplist00\xaf\x13\xff\xff\xff\xff\xff\xff\xff\xff" + "\x08" + string(make([]byte, 32))), "not a property list", false},
		{"xml deep nesting", []byte("<plist>" + strings.Repeat("<array>", 10_000) + strings.Repeat("</array>", 10_000) + "</plist>"),
			"XML plist nests deeper than 64 levels", true},
		{"xml huge array", []byte("<plist><array>" + strings.Repeat("<true/>", 200_000) + "</array></plist>"),
			"XML plist holds more than 100000 objects", true},
		{"xml many empty dictionaries", []byte("<plist><array>" + strings.Repeat("<dict/>", 200_000) + "</array></plist>"),
			"more than 100000 objects", true},
		{"xml custom entity", []byte(`<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]><plist><string>&lol;</string></plist>`),
			"not a property list", false},
		{"over the size limit", make([]byte, DefaultMaxBytes+1), "more than the limit of 8388608 bytes", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			within(t, 5*time.Second, 64<<20, func() {
				p, err := Parse(tc.body)
				require.Error(t, err)
				assert.Nil(t, p)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Equal(t, tc.limit, errors.Is(err, ErrLimit), "errors.Is(err, ErrLimit) for %v", err)
			})
		})
	}
}

// The worst plist under the limits, all objects shared empty dictionaries,
// still decodes within a bounded amount of memory.
func TestParseWorstWithinLimits(t *testing.T) {
	objs := []bplistObj{bpDict(nil, nil), bpArray(repeat(0, DefaultMaxObjects-3)...), bpString("PayloadContent")}
	objs = append(objs, bpDict([]int{2}, []int{1}))
	body := bplistFile(3, objs...)
	within(t, 5*time.Second, 64<<20, func() {
		p, err := Parse(body)
		require.NoError(t, err)
		assert.Len(t, p.Payloads, DefaultMaxObjects-3)
	})
}

func TestParseStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, body := range map[string][]byte{
		"binary": bplistFile(1, bpString("x"), bpArray(repeat(0, 50_000)...)),
		"xml":    []byte("<plist><array>" + strings.Repeat("<true/>", 50_000) + "</array></plist>"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseContext(ctx, body, Limits{})
			require.Error(t, err)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Contains(t, err.Error(), "reading the profile stopped")
		})
	}
}

func TestParseRefusesHostileCMS(t *testing.T) {
	ps := newProfileSigner(t)
	oidSigned := "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"
	deep := "\x30\x80" + oidSigned + strings.Repeat("\xa0\x80", 100_000) + strings.Repeat("\x00\x00", 100_001)
	tests := []struct {
		name    string
		body    []byte
		wantErr string
		limit   bool
	}{
		{"garbage after the content type", []byte("\x30\x20" + oidSigned + "\xde\xad\xbe\xef\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11"),
			"malformed CMS SignedData", false},
		{"deeply nested ASN.1", []byte(deep), "CMS message nests deeper than 64 levels", true},
		{"huge length", []byte("\x30\x84\x7f\xff\xff\xff" + oidSigned + "\xa0\x84\x7f\xff\xff\xf0"), "malformed CMS SignedData", false},
		{"length of more than four bytes", []byte("\x30\x80" + oidSigned + "\xa0\x88\x00\x00\x00\x01\x00\x00\x00\x00"), "malformed CMS SignedData", false},
		{"signed content that is a bomb", signCMS(t, laughs(10, 16), ps.leaf, ps.key, nil, false),
			"binary plist holds more than 100000 objects", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			within(t, 5*time.Second, 64<<20, func() {
				p, err := Parse(tc.body)
				require.Error(t, err)
				assert.Nil(t, p)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Equal(t, tc.limit, errors.Is(err, ErrLimit), "errors.Is(err, ErrLimit) for %v", err)
			})
		})
	}
}

// The bounded decoders give the values howett.net/plist gives.
func TestDecodersAgreeWithHowett(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		body, err := os.ReadFile(f)
		require.NoError(t, err)
		var want any
		_, err = plist.Unmarshal(body, &want)
		require.NoError(t, err, f)
		bin, err := plist.Marshal(want, plist.BinaryFormat)
		require.NoError(t, err)
		for name, b := range map[string][]byte{"xml": body, "binary": bin} {
			t.Run(filepath.Base(f)+"/"+name, func(t *testing.T) {
				var ref any
				_, err := plist.Unmarshal(b, &ref)
				require.NoError(t, err)
				got, _, err := decodePlist(context.Background(), b, DefaultLimits)
				require.NoError(t, err)
				assert.Equal(t, ref, got)
			})
		}
	}
	scalars := `<plist><array><integer>-0x10</integer><integer>0x10</integer><integer>18446744073709551615</integer>` +
		`<integer>-9223372036854775808</integer><real>1.5</real><date>2024-01-02T03:04:05Z</date><data> AAEC
		Aw== </data><dict><key>CF$UID</key><integer>7</integer></dict><false/><string>é &amp; ü</string></array></plist>`
	var ref any
	_, err = plist.Unmarshal([]byte(scalars), &ref)
	require.NoError(t, err)
	got, _, err := decodePlist(context.Background(), []byte(scalars), DefaultLimits)
	require.NoError(t, err)
	assert.Equal(t, ref, got)
	bin, err := plist.Marshal(ref, plist.BinaryFormat)
	require.NoError(t, err)
	var refBin any
	_, err = plist.Unmarshal(bin, &refBin)
	require.NoError(t, err)
	gotBin, _, err := decodePlist(context.Background(), bin, DefaultLimits)
	require.NoError(t, err)
	assert.Equal(t, refBin, gotBin)
}
