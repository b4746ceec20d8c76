package check

// Enroll is what the enroll step observed. (Being filled in.)
type Enroll struct{}
