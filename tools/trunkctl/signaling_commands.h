// `trunkctl calls list|show|hangup` and `trunkctl trunks
// list|show|enable|disable`: the signaling service's SignalingAdmin API.
#ifndef TRUNKLINE_TOOLS_TRUNKCTL_SIGNALING_COMMANDS_H_
#define TRUNKLINE_TOOLS_TRUNKCTL_SIGNALING_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "services/common/admin_auth.h"
#include "tools/trunkctl/node_commands.h"
#include "tools/trunkctl/output.h"
#include "trunkline/v1/admin.pb.h"

namespace trunkline::trunkctl {

// args: the words after "calls" / "trunks" (verb and its operand). Returns
// the exit code; kExitUsage with a message on err for a bad verb.
int CallsCommand(const std::vector<std::string>& args,
                 const AdminTarget& signaling,
                 const AdminCredentialFiles& credentials, OutputFormat format,
                 std::ostream& out, std::ostream& err);
int TrunksCommand(const std::vector<std::string>& args,
                  const AdminTarget& signaling,
                  const AdminCredentialFiles& credentials, OutputFormat format,
                  std::ostream& out, std::ostream& err);

// `calls show` for people: the call, its legs, and the media streams as a
// table (ages relative to `now_unix_ms`).
void PrintCallDetail(const v1::CallDetail& call, int64_t now_unix_ms,
                     std::ostream& out);

}  // namespace trunkline::trunkctl

#endif  // TRUNKLINE_TOOLS_TRUNKCTL_SIGNALING_COMMANDS_H_
