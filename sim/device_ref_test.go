package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/device"
)

func TestLookupDeviceErrorsNameTheValueAndTheForms(t *testing.T) {
	tests := []struct {
		ref  string
		want []string
	}{
		{"iphone", []string{`device "iphone": no OS version; say which, e.g. iphone@27.0`, "catalogue versions of iOS: ", "18.2", "iPhone17,2@26.1"}},
		{"iPhone17,2", []string{`device "iPhone17,2": no OS version`, "catalogue versions of iPhone17,2: "}},
		{"iphone@", []string{`device "iphone@": no OS version after the '@'`, "catalogue versions of iOS", "iphone@18.2"}},
		{"iphone@abc", []string{`device "iphone@abc": version "abc": want MAJOR[.MINOR[.PATCH]], e.g. 18.2`, "catalogue versions of iOS"}},
		{"iphone@18.2.1.4", []string{`version "18.2.1.4": want MAJOR[.MINOR[.PATCH]]`}},
		{"iphone@-1", []string{`version "-1"`}},
		{"@18.2", []string{`device "@18.2": no family or product before the '@'`, "iphone@18.2", "iPhone17,2@26.1"}},
		{"", []string{`device "": no family or product`}},
		{"toaster@1.0", []string{`device "toaster@1.0": unknown family or product "toaster" (families: iphone, ipad, mac, vision; products: `}},
		{"iphone@18.2@1", []string{`device "iphone@18.2@1": more than one '@'`}},
		{"mac", []string{"catalogue versions of macOS: "}},
	}
	for _, tt := range tests {
		_, err := device.LookupDevice(tt.ref)
		require.Error(t, err, tt.ref)
		for _, w := range tt.want {
			assert.Contains(t, err.Error(), w, tt.ref)
		}
	}
	for _, ok := range []string{"iphone@18.2", " ipad@18.1 ", "iPhone17,2@26.1", "mac@15.2.1", "vision@2.2", "ios@17.5", "iphone@26.3"} {
		_, err := device.LookupDevice(ok)
		assert.NoError(t, err, ok)
	}
}
