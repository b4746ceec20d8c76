package check

// TokenLife is what the token-life step observed. (Being filled in.)
type TokenLife struct{}
