package check

// SignIn is what the web-login or oauth2 step observed. (Being filled in.)
type SignIn struct{}
