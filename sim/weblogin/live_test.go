package weblogin_test

import (
	"testing"

	"github.com/enrollsim/enrollsim/sim/weblogin"
)

// A form whose only button is disabled is busy (its script is sending);
// one with a button a person can press is not, nor is one without buttons.
func TestLiveFormBusy(t *testing.T) {
	const attr = weblogin.ControlAttr
	tests := []struct {
		name, body string
		busy       bool
	}{
		{"enabled button", `<form><input ` + attr + `="0" name="loginfmt" type="email"><button ` + attr + `="1">Next</button></form>`, false},
		{"disabled button", `<form><input ` + attr + `="0" name="loginfmt" type="email"><button ` + attr + `="1" disabled>Next</button></form>`, true},
		{"disabled submit input", `<form><input ` + attr + `="0" name="loginfmt" type="email"><input ` + attr + `="1" type="SUBMIT" disabled></form>`, true},
		{"disabled fieldset", `<form><fieldset disabled><button ` + attr + `="1">Next</button></fieldset><input ` + attr + `="0" name="loginfmt" type="email"></form>`, true},
		{"one of two disabled", `<form><input ` + attr + `="0" name="loginfmt" type="email"><button ` + attr + `="1" disabled>Back</button><button ` + attr + `="2">Next</button></form>`, false},
		{"no button (Enter)", `<form><input ` + attr + `="0" name="loginfmt" type="email"></form>`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := weblogin.ReadLivePage(`<!doctype html><html><body>`+tt.body+`</body></html>`, weblogin.Fields{})
			if err != nil || page.Form == nil {
				t.Fatalf("page %+v, err %v", page, err)
			}
			if page.Form.Busy != tt.busy {
				t.Errorf("Busy %v, want %v (submit %q)", page.Form.Busy, tt.busy, page.Form.Submit)
			}
		})
	}
}
