package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"howett.net/plist"
)

// plistFirst are the keys that say what a plist is, shown first: a
// check-in's MessageType, a command's RequestType, a connect's Status, a
// profile's PayloadType.
var plistFirst = []string{
	"MessageType", "RequestType", "Status", "CommandUUID", "Topic", "UDID", "EnrollmentID", "EnrollmentUserID",
	"UserShortName", "PayloadType", "PayloadDisplayName", "PayloadIdentifier", "PayloadOrganization",
	"EnrollmentMode", "AssignedManagedAppleID", "ServerURL", "CheckInURL", "ErrorChain",
}

// plistPreview is a collapsed exchange's view of a plist body: what it is
// (MessageType, RequestType...) and then its other keys, one a line, with
// nested values summed up; nil when the body is no plist dictionary.
func plistPreview(body, contentType string) []string {
	b := strings.TrimSpace(body)
	if b == "" || !(strings.HasPrefix(b, "<?xml") || strings.HasPrefix(b, "<plist") || strings.HasPrefix(b, "bplist")) &&
		!strings.Contains(strings.ToLower(contentType), "plist") {
		return nil
	}
	var top map[string]any
	if _, err := plist.Unmarshal([]byte(b), &top); err != nil || len(top) == 0 {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(k string, v any) {
		out = append(out, clean(k)+": "+plistValue(v))
		seen[k] = true
	}
	cmd, _ := top["Command"].(map[string]any)
	for _, k := range plistFirst {
		if v, ok := top[k]; ok {
			add(k, v)
		} else if v, ok := cmd[k]; ok && k == "RequestType" {
			out = append(out, "RequestType: "+plistValue(v))
		}
	}
	rest := make([]string, 0, len(top))
	for k := range top {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		add(k, top[k])
	}
	return out
}

// plistValue sums a value up in a few words.
func plistValue(v any) string {
	switch v := v.(type) {
	case string:
		return oneLine(shorten(v, 72))
	case []byte:
		return fmt.Sprintf("<%d bytes>", len(v))
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case map[string]any:
		return plistDict(v)
	case []any:
		return plistArray(v)
	}
	return oneLine(fmt.Sprint(v))
}

func plistDict(v map[string]any) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if _, ok := v["RequestType"].(string); ok {
		// A command: its RequestType is shown already; say what it asks.
		var parts []string
		for _, k := range keys {
			if k == "RequestType" {
				continue
			}
			val := "…"
			switch x := v[k].(type) {
			case []any:
				val = plistArray(x)
			case string, bool, int64, uint64, float64:
				val = plistValue(x)
			}
			parts = append(parts, clean(k)+" "+val)
		}
		if len(parts) == 0 {
			return "{}"
		}
		return "{" + shorten(strings.Join(parts, "; "), 100) + "}"
	}
	return fmt.Sprintf("{%s}", shorten(strings.Join(keys, ", "), 72))
}

func plistArray(v []any) string {
	var types, words []string
	for _, e := range v {
		switch e := e.(type) {
		case map[string]any:
			if t, ok := e["PayloadType"].(string); ok {
				types = append(types, t)
			}
		case string:
			words = append(words, e)
		}
	}
	switch {
	case len(types) == len(v) && len(v) > 0:
		return fmt.Sprintf("%d payload%s: %s", len(v), plural(len(v)), oneLine(shorten(strings.Join(types, ", "), 120)))
	case len(words) == len(v) && len(v) > 0:
		return oneLine(shorten(strings.Join(words, ", "), 100))
	}
	return fmt.Sprintf("[%d item%s]", len(v), plural(len(v)))
}

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
