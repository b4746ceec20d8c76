package check

// Profile is what the profile step observed. (Being filled in.)
type Profile struct{}
