package check

// Fallback is what the fallback step observed. (Being filled in: issue 24.)
type Fallback struct{}
