package check

// Registration is what the registration step observed. (Being filled in: issue 24.)
type Registration struct{}
