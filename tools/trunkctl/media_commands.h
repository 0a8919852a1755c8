// `trunkctl media query CALL_ID`: the quality figures of one anchored call,
// per stream and leg, from the media instance that anchors it (--media).
#ifndef TRUNKLINE_TOOLS_TRUNKCTL_MEDIA_COMMANDS_H_
#define TRUNKLINE_TOOLS_TRUNKCTL_MEDIA_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "tools/trunkctl/output.h"

namespace trunkline::trunkctl {

// Asks each media instance in turn; prints the first that knows the call.
// Exit 1 (NOT_FOUND) when none does, 3 when none can be reached.
int MediaQuery(const std::vector<std::string>& media_addresses,
               const std::string& call_id, OutputFormat format,
               std::ostream& out, std::ostream& err);

}  // namespace trunkline::trunkctl

#endif  // TRUNKLINE_TOOLS_TRUNKCTL_MEDIA_COMMANDS_H_
