// Semantic checks of a topology: everything YAML syntax cannot say.
//
// Every reference resolves, names are unique per kind, every pattern
// compiles in RE2 and every translation names groups that exist, ports and
// addresses are valid, a trunk to an ITSP does not advertise a private
// address, and the numeric settings are within what SIP allows. All problems
// are returned at once, each with the line it concerns.
#ifndef TRUNKLINE_SERVICES_COMMON_TOPOLOGY_VALIDATOR_H_
#define TRUNKLINE_SERVICES_COMMON_TOPOLOGY_VALIDATOR_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "services/common/topology/yaml_to_proto.h"
#include "trunkline/v1/topology.pb.h"

namespace trunkline {

// Runs on the topology as written (before defaults are filled in).
std::vector<SourceError> ValidateTopology(const v1::Topology& topology,
                                          const SourceMap& source_map);

// True for an IPv4 or IPv6 literal.
bool IsIpAddress(absl::string_view text);
// True for RFC 1918, RFC 6598 shared, loopback, link-local and RFC 4193
// addresses: ones an ITSP cannot reach.
bool IsPrivateAddress(absl::string_view ip);
// True for a syntactically valid DNS name.
bool IsHostName(absl::string_view text);

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_TOPOLOGY_VALIDATOR_H_
