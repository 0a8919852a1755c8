// `trunkctl route explain`: asks the routing service to explain a decision
// (our Test-CsVoiceRoute / Test-CsInterTrunkRouting) and prints the trace.
#ifndef TRUNKLINE_TOOLS_TRUNKCTL_ROUTE_COMMANDS_H_
#define TRUNKLINE_TOOLS_TRUNKCTL_ROUTE_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "tools/trunkctl/output.h"
#include "trunkline/v1/routing.pb.h"

namespace trunkline::trunkctl {

struct ExplainOptions {
  std::string routing_address;
  std::string caller;
  std::string callee;
  std::string from_trunk;
  std::string from_user;
  std::string call_id;
  std::vector<std::string> down_trunks;
};

v1::RouteRequest BuildRouteRequest(const ExplainOptions& options);

// Prints the explanation for a person.
void PrintExplanation(const v1::RouteExplanation& explanation,
                      std::ostream& out);

int ExplainRoute(const ExplainOptions& options, OutputFormat format,
                 std::ostream& out, std::ostream& err);

}  // namespace trunkline::trunkctl

#endif  // TRUNKLINE_TOOLS_TRUNKCTL_ROUTE_COMMANDS_H_
