package check

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestJudgeForbiddenCommands(t *testing.T) {
	erase := ForbiddenCommand{RequestType: "EraseDevice", Platform: "iOS", Text: "EraseDevice {PIN: [redacted], PreserveDataPlan: true} (CommandUUID u7)"}
	for _, tt := range []struct {
		name string
		c    Commands
		want []string
		says string
	}{
		{"a device enrollment may be erased", Commands{Forbidden: []ForbiddenCommand{erase}}, []string{"CMD-001 skip"}, "device enrollment"},
		{"a user enrollment that got only allowed commands", Commands{UserEnrollment: true}, []string{"CMD-001 pass"}, ""},
		{"a user enrollment sent EraseDevice", Commands{UserEnrollment: true, Forbidden: []ForbiddenCommand{erase}}, []string{"CMD-001 fail"},
			"EraseDevice, which user enrollment forbids on iOS: EraseDevice {PIN: [redacted]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := JudgeForbiddenCommands(tt.c)
			assert.Equal(t, tt.want, got(v))
			if tt.says != "" {
				assert.Contains(t, v.Results[0].Actual+v.Results[0].Detail, tt.says)
			}
		})
	}
}

// A command the schema forbids in user enrollment but that does not act
// against the owner is the device's to refuse: CMD-001 passes.
func TestForbiddenButHarmlessCommandPasses(t *testing.T) {
	list := ForbiddenCommand{RequestType: "InstalledApplicationList", Platform: "macOS", Text: "InstalledApplicationList {ManagedAppsOnly: true}"}
	assert.Equal(t, []string{"CMD-001 pass"}, got(JudgeForbiddenCommands(Commands{UserEnrollment: true, Forbidden: []ForbiddenCommand{list}})))
}
