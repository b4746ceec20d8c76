package ddm

import (
	"encoding/json"
	"sort"
	"strings"
)

// supportedVersions is management.client-capabilities' supported-versions: the protocol
// version Apple's examples give for server-capabilities (inferred; Apple's schema lists no
// value).
var supportedVersions = []string{"1.0.0"}

// StatusReport is the Data of the status check-in (Apple's StatusReport: StatusItems, Errors,
// FullReport). Its status items are those this device has (the platform, the OS version and
// the enrollment, from Apple's status schema) among the ones the simulator knows a value
// for: device.identifier.*, device.model.*, device.operating-system.*,
// management.client-capabilities and management.declarations. Names with dots nest
// (device.model.family is StatusItems.device.model.family).
//
// full sends every item; otherwise only the items, and the declarations, whose value changed
// since the last report, and nothing when none did (items is then empty). The report is
// recorded as sent. FullReport appears where the platform and OS have it (iOS 17, macOS 14).
func (s *State) StatusReport(dev Device, full bool) ([]byte, error) {
	vals := s.statusValues(dev)
	if s.reported == nil {
		s.reported = map[string]string{}
	}
	items := map[string]any{}
	names := make([]string, 0, len(vals))
	for name := range vals {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := vals[name]
		if name == "management.declarations" {
			v = s.declarationsDelta(v.(map[string][]map[string]any), full)
			if v == nil {
				continue
			}
		} else if !s.changed(name, v) && !full {
			continue
		}
		nest(items, name, v)
	}
	report := map[string]any{"StatusItems": items, "Errors": []any{}}
	if ok, _ := dev.has(statusReportKeys["FullReport"]); ok {
		report["FullReport"] = full
	}
	return json.Marshal(report)
}

// statusValues is the value of every status item this device has and the simulator knows.
func (s *State) statusValues(dev Device) map[string]any {
	all := map[string]any{
		"device.identifier.udid":                dev.UDID,
		"device.identifier.serial-number":       dev.SerialNumber,
		"device.model.family":                   dev.Family,
		"device.model.identifier":               dev.Product,
		"device.model.marketing-name":           dev.MarketingName,
		"device.operating-system.family":        dev.osFamily(),
		"device.operating-system.version":       dev.OSVersion,
		"device.operating-system.build-version": dev.BuildVersion,
		"management.client-capabilities":        capabilities(dev),
		"management.declarations":               s.declarationStatus(),
	}
	out := map[string]any{}
	for name, v := range all {
		if str, ok := v.(string); ok && str == "" {
			continue
		}
		if ok, _ := dev.has(statusItems[name]); ok {
			out[name] = v
		}
	}
	return out
}

// capabilities is management.client-capabilities: the declaration types and status items
// this device has, from Apple's schema.
func capabilities(dev Device) map[string]any {
	decls := map[string][]string{KindActivation + "s": {}, KindConfiguration + "s": {}, KindAsset + "s": {}, KindManagement: {}}
	for typ, t := range declarationTypes {
		if ok, _ := dev.has(t.OS); ok {
			k := t.Kind + "s"
			if t.Kind == KindManagement {
				k = KindManagement
			}
			decls[k] = append(decls[k], typ)
		}
	}
	for _, l := range decls {
		sort.Strings(l)
	}
	var items []string
	for name, o := range statusItems {
		if ok, _ := dev.has(o); ok {
			items = append(items, name)
		}
	}
	sort.Strings(items)
	return map[string]any{
		"supported-versions": supportedVersions,
		"supported-features": map[string]any{},
		"supported-payloads": map[string]any{"declarations": decls, "status-items": items},
	}
}

// declarationStatus is management.declarations: each stored declaration under its kind's list
// (activations, configurations, assets, management), by identifier.
func (s *State) declarationStatus() map[string][]map[string]any {
	out := map[string][]map[string]any{"activations": {}, "configurations": {}, "assets": {}, "management": {}}
	for _, r := range s.Results() {
		e := map[string]any{"identifier": r.Identifier, "server-token": r.ServerToken, "valid": r.Valid, "active": r.Active}
		if len(r.Reasons) > 0 {
			e["reasons"] = r.Reasons
		}
		k := r.Kind + "s"
		if r.Kind == KindManagement {
			k = KindManagement
		}
		out[k] = append(out[k], e)
	}
	return out
}

// declarationsDelta is management.declarations as this report sends it: every entry when
// full, else the entries that changed since the last report (nil when none did). Apple:
// a full report has "the full set of items in any status array item (not just the changes)".
func (s *State) declarationsDelta(all map[string][]map[string]any, full bool) any {
	out := map[string][]map[string]any{}
	some := false
	for list, entries := range all {
		out[list] = []map[string]any{}
		for _, e := range entries {
			if s.changed("management.declarations/"+list+"/"+e["identifier"].(string), e) || full {
				out[list] = append(out[list], e)
				some = true
			}
		}
	}
	if !some && !full {
		return nil
	}
	return out
}

// changed records v as the last reported value of key and says whether it differs from the
// one before.
func (s *State) changed(key string, v any) bool {
	b, _ := json.Marshal(v)
	if s.reported[key] == string(b) {
		return false
	}
	s.reported[key] = string(b)
	return true
}

// nest puts v at a dotted status item name in items.
func nest(items map[string]any, name string, v any) {
	parts := strings.Split(name, ".")
	m := items
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}
