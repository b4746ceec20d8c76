package report

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strconv"
)

var (
	packedBlob = regexp.MustCompile(`<script type="application/gzip" id="([^"]+)">([^<]*)</script>\n`)
	packedText = regexp.MustCompile(`<x-s i=(\d+)></x-s>`)
	packedImg  = regexp.MustCompile(`<img data-s=(\d+) `)
)

// UnpackHTML does what a packed html report's script does in the browser
// (see htmlpack.go): every case's detail goes back into its place, its
// texts escaped. The page it returns has neither the packed data nor the
// script; a report that is not packed comes back as it is. It is for
// tools and tests that search a report's text, which packing hides.
func UnpackHTML(page []byte) ([]byte, error) {
	blobs := packedBlob.FindAllSubmatch(page, -1)
	if len(blobs) == 0 {
		return page, nil
	}
	details := map[string][]byte{}
	for _, m := range blobs {
		raw, err := gunzipBase64(m[2])
		if err != nil {
			return nil, fmt.Errorf("html report: %s: %w", m[1], err)
		}
		details[string(m[1])] = raw
	}
	var table []string
	if err := json.Unmarshal(details["z-strings"], &table); err != nil {
		return nil, fmt.Errorf("html report: the string table: %w", err)
	}
	var bad error
	lookup := func(re *regexp.Regexp, ref []byte) string {
		i, err := strconv.Atoi(string(re.FindSubmatch(ref)[1]))
		if err != nil || i >= len(table) {
			bad = fmt.Errorf("html report: a reference to string %q of %d", ref, len(table))
			return ""
		}
		return template.HTMLEscapeString(table[i])
	}
	out := packedBlob.ReplaceAll(page, nil)
	if i := bytes.LastIndex(out, []byte("<script>")); i >= 0 {
		out = append(out[:i:i], "</body>\n</html>\n"...)
	}
	for _, m := range blobs {
		id := string(m[1])
		if id == "z-strings" {
			continue
		}
		d := packedText.ReplaceAllFunc(details[id], func(ref []byte) []byte { return []byte(lookup(packedText, ref)) })
		d = packedImg.ReplaceAllFunc(d, func(ref []byte) []byte { return []byte(`<img src="` + lookup(packedImg, ref) + `" `) })
		head := bytes.Index(out, []byte(`id="`+id[len("z-"):]+`"`))
		if head < 0 {
			return nil, fmt.Errorf("html report: no case %s for its packed detail", id)
		}
		body := bytes.Index(out[head:], []byte(`<div class="body">`))
		if body < 0 {
			return nil, fmt.Errorf("html report: case %s has no body", id)
		}
		at := head + body + len(`<div class="body">`)
		out = append(out[:at:at], append(d, out[at:]...)...)
	}
	return out, bad
}

func gunzipBase64(b64 []byte) ([]byte, error) {
	z, err := base64.StdEncoding.DecodeString(string(b64))
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}
