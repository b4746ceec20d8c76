package weblogin

import (
	"fmt"

	"github.com/andybalholm/cascadia"
)

// selectors are the compiled Fields overrides; a nil one means "detect".
type selectors struct {
	username, password, otp, submit, form cascadia.Selector
	extra                                 map[string]string
}

// Validate reports a selector that does not parse, naming the field, so a
// scenario can be refused when it is loaded rather than mid-run.
func (f Fields) Validate() error {
	_, err := f.compile()
	return err
}

func (f Fields) compile() (selectors, error) {
	s := selectors{extra: f.Extra}
	for _, field := range []struct {
		name string
		css  string
		dst  *cascadia.Selector
	}{
		{"username", f.Username, &s.username},
		{"password", f.Password, &s.password},
		{"otp", f.OTP, &s.otp},
		{"submit", f.Submit, &s.submit},
		{"form", f.Form, &s.form},
	} {
		if field.css == "" {
			continue
		}
		sel, err := cascadia.Compile(field.css)
		if err != nil {
			return selectors{}, fmt.Errorf("fields.%s: bad CSS selector %q: %w", field.name, field.css, err)
		}
		*field.dst = sel
	}
	return s, nil
}
