package platformmesh

import "regexp"

var notGraphQL = regexp.MustCompile(`[^_a-zA-Z0-9]`)

// GraphQLGroup is how Platform Mesh's GraphQL gateway names an API group, which is what
// the portal's resourceDefinition.apiGroup must say: every character outside
// [_a-zA-Z0-9] becomes "_", and a leading digit gets a "_" in front.
// Source: SanitizeGroupName in platform-mesh/kubernetes-graphql-gateway,
// gateway/schema/types/registry.go (commit 1e0d22b, June 2026).
func GraphQLGroup(group string) string {
	s := notGraphQL.ReplaceAllString(group, "_")
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		s = "_" + s
	}
	return s
}
