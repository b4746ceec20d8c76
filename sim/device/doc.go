// Package device is the catalogue of simulated clients: model families,
// products, OS versions and builds, and what each can do by the spec's
// version matrix (section 3). A device that cannot do a flow refuses it
// locally, with the reason a real one gives.
package device
