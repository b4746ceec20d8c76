package report

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strconv"
)

// A large run's report would be tens of megabytes of HTML that a browser
// takes many seconds to lay out (342 cases: 53 MB). The same strings recur
// in every case (the server's pages and headers, the rules), but gzip only
// sees 32 KB back, so compressing each case alone saves little. So a
// report whose case details would pass htmlInlineBudget is packed:
//   - every text of 24 bytes or more in a case's detail becomes a
//     reference into one table of distinct strings (<x-s i=N></x-s>);
//   - the table and each case's detail are gzipped and embedded as base64
//     in <script type="application/gzip"> elements, which browsers do not
//     run;
//   - a small script unpacks a case with DecompressionStream when it is
//     opened (or named by the URL's #anchor) and puts the strings back as
//     text nodes, never as markup.
// The index (suites, the case table, the check pivot) is plain HTML. A
// smaller report is plain HTML throughout, with no script at all.

// htmlInlineBudget is the most case detail a report holds as plain HTML.
const htmlInlineBudget = 2 << 20

// htmlRefMin is the shortest text that becomes a reference.
const htmlRefMin = 24

//go:embed report.js
var htmlScript string

// packer interns the texts of the case details while they render.
type packer struct {
	compact bool
	index   map[string]int
	strs    []string
	// inline is what the references would have taken as escaped text.
	inline int
}

func newPacker(compact bool) *packer { return &packer{compact: compact, index: map[string]int{}} }

// text is the template's t: a text, escaped, or its reference.
func (p *packer) text(s string) template.HTML {
	if !p.compact || len(s) < htmlRefMin {
		return template.HTML(template.HTMLEscapeString(s))
	}
	return template.HTML("<x-s i=" + strconv.Itoa(p.ref(s)) + "></x-s>")
}

// img is the template's img: a screenshot, inline, or in a packed report
// a reference the script makes its src (the sign-in pages of one account
// look the same in every case, so most screenshots are stored once).
func (p *packer) img(src template.URL, alt string) template.HTML {
	a := template.HTMLEscapeString(alt)
	if !p.compact {
		return template.HTML(`<img src="` + template.HTMLEscapeString(string(src)) + `" alt="` + a + `">`)
	}
	i := p.ref(string(src))
	return template.HTML(`<img data-s=` + strconv.Itoa(i) + ` alt="` + a + `">`)
}

func (p *packer) ref(s string) int {
	i, ok := p.index[s]
	if !ok {
		i = len(p.strs)
		p.index[s] = i
		p.strs = append(p.strs, s)
	}
	p.inline += len(s)
	return i
}

func (p *packer) template() *template.Template {
	return template.Must(htmlTemplate.Clone()).Funcs(template.FuncMap{"t": p.text, "img": p.img})
}

// renderCases renders each case's detail; it reports what the details
// would take as plain HTML.
func renderCases(v *htmlView, p *packer) ([][]byte, int, error) {
	t := p.template()
	out := make([][]byte, len(v.CaseList))
	size := 0
	for i := range v.CaseList {
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, "detail", &v.CaseList[i]); err != nil {
			return nil, 0, err
		}
		out[i] = b.Bytes()
		size += b.Len()
	}
	return out, size + p.inline, nil
}

func writeHTMLPage(w io.Writer, v *htmlView) error {
	p := newPacker(true)
	details, size, err := renderCases(v, p)
	if err != nil {
		return err
	}
	if size <= htmlInlineBudget {
		p = newPacker(false)
		if details, _, err = renderCases(v, p); err != nil {
			return err
		}
		for i := range v.CaseList {
			v.CaseList[i].Body = template.HTML(details[i])
		}
	} else {
		v.Compact = true
	}
	bw, done := buffered(w)
	if err := p.template().ExecuteTemplate(bw, "page", v); err != nil {
		return done(err)
	}
	if v.Compact {
		if err := writePacked(bw, v, p, details); err != nil {
			return done(err)
		}
	}
	_, err = io.WriteString(bw, "</body>\n</html>\n")
	return done(err)
}

// writePacked writes the string table, each case's packed detail and the
// script that unpacks them. Base64 holds no '<', so no blob can end its
// element early.
func writePacked(w io.Writer, v *htmlView, p *packer, details [][]byte) error {
	table, err := json.Marshal(p.strs)
	if err != nil {
		return err
	}
	if err := writeBlob(w, "z-strings", table); err != nil {
		return err
	}
	for i, d := range details {
		if err := writeBlob(w, "z-"+v.CaseList[i].Anchor, d); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(w, "<script>\n%s</script>\n", htmlScript)
	return err
}

func writeBlob(w io.Writer, id string, data []byte) error {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	if _, err := zw.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "<script type=\"application/gzip\" id=\"%s\">", id); err != nil {
		return err
	}
	enc := base64.NewEncoder(base64.StdEncoding, w)
	if _, err := enc.Write(z.Bytes()); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "</script>\n")
	return err
}
