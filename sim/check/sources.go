package check

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// What a check's Source names besides the digest's S-numbers: ranges of
// them, Apple's pages by address, Apple's device-management schema files,
// RFC sections.
var (
	sourceRange = regexp.MustCompile(`\bS(\d+)\s*[-–]\s*S?(\d+)\b`)
	sourceID    = regexp.MustCompile(`\bS(\d+)\b`)
	sourceURL   = regexp.MustCompile(`(?:https?://)?(?:developer|support)\.apple\.com(?:/[^\s;,()"]*)?|(?:^|[\s;,(])\.\.\./[a-z0-9-]+`)
	sourceRepo  = regexp.MustCompile(`(?:apple/device-management\s+|(?:^|[\s;,(]))((?:mdm|declarative|other)/[A-Za-z0-9_./-]*[A-Za-z0-9_-])`)
	sourceRFC   = regexp.MustCompile(`\bRFC\s*(\d{3,5})(?:\s*§\s*(\d+(?:\.\d+)*))?`)
)

// deviceManagementRepo is Apple's machine-readable schema (S20), at its
// release branch.
const deviceManagementRepo = "https://github.com/apple/device-management"

// SourceLinks are the links of a check's Source, in the order it names
// them, each once: the digest's source numbers (S1..Sn, and ranges such as
// S14-S16) through its source table (digestSources), Apple's pages named
// by address ("developer.apple.com/documentation/…", ".../token-update"
// after one, "support.apple.com/126655"), Apple's schema files
// ("apple/device-management mdm/commands/…"), and RFC sections.
func SourceLinks(source string) []Link {
	var found []sourceAt
	add := func(pos int, label, url string) {
		if url != "" {
			found = append(found, sourceAt{pos, Link{Label: label, URL: url}})
		}
	}
	covered := map[int]bool{}
	for _, m := range sourceRange.FindAllStringSubmatchIndex(source, -1) {
		from, _ := strconv.Atoi(source[m[2]:m[3]])
		to, _ := strconv.Atoi(source[m[4]:m[5]])
		for n := from; n <= to && to-from < 50; n++ {
			add(m[0], "S"+strconv.Itoa(n), digestSource("S"+strconv.Itoa(n)))
		}
		for i := m[0]; i < m[1]; i++ {
			covered[i] = true
		}
	}
	for _, m := range sourceID.FindAllStringSubmatchIndex(source, -1) {
		if !covered[m[0]] {
			add(m[0], source[m[0]:m[1]], digestSource(source[m[0]:m[1]]))
		}
	}
	found = append(found, pageLinks(source)...)
	for _, m := range sourceRepo.FindAllStringSubmatchIndex(source, -1) {
		path := source[m[2]:m[3]]
		kind := "tree"
		if strings.HasSuffix(path, ".yaml") {
			kind = "blob"
		}
		add(m[2], path, deviceManagementRepo+"/"+kind+"/release/"+path)
	}
	for _, m := range sourceRFC.FindAllStringSubmatchIndex(source, -1) {
		url := "https://www.rfc-editor.org/rfc/rfc" + source[m[2]:m[3]]
		if m[4] >= 0 {
			url += "#section-" + source[m[4]:m[5]]
		}
		add(m[0], strings.Join(strings.Fields(source[m[0]:m[1]]), " "), url)
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].pos < found[j].pos })
	var out []Link
	seen := map[string]bool{}
	for _, f := range found {
		if !seen[f.link.URL] {
			seen[f.link.URL] = true
			out = append(out, f.link)
		}
	}
	return out
}

// sourceAt is a link and where the source names it, for their order.
type sourceAt struct {
	pos  int
	link Link
}

// pageLinks are the Apple pages a source names by address; ".../slug"
// stands for a page beside the one named before it.
func pageLinks(source string) []sourceAt {
	var out []sourceAt
	last := ""
	for _, m := range sourceURL.FindAllStringIndex(source, -1) {
		text := strings.TrimLeft(source[m[0]:m[1]], " ;,(")
		pos := m[1] - len(text)
		url := text
		if strings.HasPrefix(text, ".../") {
			if last == "" {
				continue
			}
			url = last[:strings.LastIndex(last, "/")+1] + strings.TrimPrefix(text, ".../")
		} else if !strings.HasPrefix(url, "http") {
			url = "https://" + url
		}
		url = strings.TrimRight(url, ".")
		last = url
		out = append(out, sourceAt{pos, Link{Label: text, URL: url}})
	}
	return out
}

// digestSource is the address of one of the digest's sources, "" for an
// unknown number.
func digestSource(id string) string {
	if urls := digestSources[id]; len(urls) > 0 {
		return urls[0]
	}
	return ""
}
