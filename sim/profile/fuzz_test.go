package profile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"howett.net/plist"
)

// FuzzProfileParse feeds the profile reader arbitrary bodies: whatever
// arrives, it returns a profile or an error (never both, never neither),
// quickly, and a plist it reads gives the values howett.net/plist gives.
// Seeds are every file in testdata (XML, binary, OpenStep, CMS, bombs).
func FuzzProfileParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	for _, name := range files {
		if fi, err := os.Stat(name); err != nil || fi.IsDir() {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		p, err := ParseContext(ctx, body, Limits{})
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("Parse took %s on %d bytes", took, len(body))
		}
		if (p == nil) == (err == nil) {
			t.Fatalf("Parse returned profile %v and error %v", p != nil, err)
		}
		if _, isCMS, _ := detectCMS(body); isCMS || len(body) > 64<<10 {
			return
		}
		got, _, err := decodePlist(ctx, body, DefaultLimits)
		if err != nil || !bytes.HasPrefix(bytes.TrimSpace(body), []byte("<")) && !bytes.HasPrefix(body, []byte("bplist")) {
			return
		}
		var want any
		if _, herr := plist.Unmarshal(body, &want); herr != nil {
			return // this reader is laxer here; agreement is only asked where both read
		}
		if g, w := fmt.Sprintf("%#v", got), fmt.Sprintf("%#v", want); g != w {
			t.Fatalf("values differ from howett.net/plist:\n got %.500s\nwant %.500s", g, w)
		}
	})
}
