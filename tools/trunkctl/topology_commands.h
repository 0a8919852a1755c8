// `trunkctl topology validate FILE` and `trunkctl topology show FILE`.
#ifndef TRUNKLINE_TOOLS_TRUNKCTL_TOPOLOGY_COMMANDS_H_
#define TRUNKLINE_TOOLS_TRUNKCTL_TOPOLOGY_COMMANDS_H_

#include <ostream>
#include <string>

#include "tools/trunkctl/output.h"

namespace trunkline::trunkctl {

// Prints "FILE: valid (version V: N trunks, M routes)" and returns 0, or
// every error as "FILE:LINE: reason" and returns 1.
int ValidateTopology(const std::string& file, OutputFormat format,
                     std::ostream& out, std::ostream& err);

// Prints the loaded topology, defaults filled in: proto JSON with
// --output json, a summary table otherwise.
int ShowTopology(const std::string& file, OutputFormat format,
                 std::ostream& out, std::ostream& err);

}  // namespace trunkline::trunkctl

#endif  // TRUNKLINE_TOOLS_TRUNKCTL_TOPOLOGY_COMMANDS_H_
