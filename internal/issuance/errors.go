package issuance

import "errors"

// ErrInvalidSpec marks a Certificate spec that cannot be turned into a request; it needs
// the user to change the spec, not a retry.
var ErrInvalidSpec = errors.New("invalid certificate spec")
