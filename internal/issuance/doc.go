// Package issuance is the pure logic of issuing a Certificate, with no API calls: which
// trigger fires (in cert-manager's order), how a CertificateRequest is built, how long a
// certificate lives and when it renews, and what its TLS Secret holds. Controllers
// gather the inputs and act on the answers; everything here is table-tested.
package issuance
