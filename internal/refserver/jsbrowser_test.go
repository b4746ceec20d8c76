package refserver

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
)

const iPhoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Mobile/15E148 Safari/604.1"

func TestSpike(t *testing.T) {
	r := chrome(t)
	s := r.use(t, "")
	grace := account(t, s, "grace@acme.test")
	tb := r.newTab(t, iPhoneUA)
	tb.run(t, chromedp.Navigate(loginURL+"?user-identifier=grace%40acme.test"),
		chromedp.WaitVisible(chromedp.CSS(`input[autocomplete=username]`)),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[type=password]`)),
		chromedp.SendKeys(chromedp.CSS(`input[type=password]`), grace.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[autocomplete=one-time-code]`)),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete=one-time-code]`), r.totp.code(t, grace)),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	cb := tb.callback(t, 5*time.Second)
	assert.Contains(t, cb, "access-token=")
	t.Log(cb, tb.sent())
}
