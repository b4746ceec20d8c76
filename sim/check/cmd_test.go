package check

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestJudgeForbiddenCommands(t *testing.T) {
	cellular := ForbiddenPayload{PayloadType: "com.apple.cellular", PayloadIdentifier: "test.acme.cellular.apn", Platform: "iOS", CommandUUID: "u9"}
	erase := ForbiddenCommand{RequestType: "EraseDevice", Platform: "iOS", Text: "EraseDevice {PIN: [redacted], PreserveDataPlan: true} (CommandUUID u7)"}
	for _, tt := range []struct {
		name string
		c    Commands
		want []string
		says string
	}{
		{"a device enrollment may be erased", Commands{Forbidden: []ForbiddenCommand{erase}}, []string{"CMD-001 skip", "CMD-002 skip", "CMD-003 pass"}, "device enrollment"},
		{"a user enrollment that got only allowed commands", Commands{UserEnrollment: true}, []string{"CMD-001 pass", "CMD-002 pass", "CMD-003 pass"}, ""},
		{"a user enrollment sent EraseDevice", Commands{UserEnrollment: true, Forbidden: []ForbiddenCommand{erase}}, []string{"CMD-001 fail", "CMD-002 pass", "CMD-003 pass"},
			"EraseDevice, which user enrollment forbids on iOS: EraseDevice {PIN: [redacted]"},
		{"a device enrollment may get a Cellular payload", Commands{ForbiddenPayloads: []ForbiddenPayload{cellular}}, []string{"CMD-001 skip", "CMD-002 skip", "CMD-003 pass"}, "device enrollment"},
		{"a user enrollment sent a Cellular payload", Commands{UserEnrollment: true, ForbiddenPayloads: []ForbiddenPayload{cellular}}, []string{"CMD-001 pass", "CMD-002 fail", "CMD-003 pass"},
			"com.apple.cellular (test.acme.cellular.apn) in InstallProfile u9, which user enrollment forbids on iOS"},
		{"a command the device's OS does not have", Commands{Unavailable: []string{"ContentCachingInformation (not on iOS): ContentCachingInformation {} (CommandUUID u3)"}},
			[]string{"CMD-001 skip", "CMD-002 skip", "CMD-003 warn"}, "ContentCachingInformation (not on iOS)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := JudgeForbiddenCommands(tt.c)
			assert.Equal(t, tt.want, got(v))
			if tt.says != "" {
				var text string
				for _, r := range v.Results {
					text += r.Actual + r.Detail
				}
				assert.Contains(t, text, tt.says)
			}
		})
	}
}

// A command the schema forbids in user enrollment but that does not act
// against the owner is the device's to refuse: CMD-001 passes.
func TestForbiddenButHarmlessCommandPasses(t *testing.T) {
	list := ForbiddenCommand{RequestType: "InstalledApplicationList", Platform: "macOS", Text: "InstalledApplicationList {ManagedAppsOnly: true}"}
	assert.Equal(t, []string{"CMD-001 pass", "CMD-002 pass", "CMD-003 pass"}, got(JudgeForbiddenCommands(Commands{UserEnrollment: true, Forbidden: []ForbiddenCommand{list}})))
}
