// `trunkctl node status|drain|reload`: the node part of every service's
// admin API.
#ifndef TRUNKLINE_TOOLS_TRUNKCTL_NODE_COMMANDS_H_
#define TRUNKLINE_TOOLS_TRUNKCTL_NODE_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "services/common/admin_auth.h"
#include "tools/trunkctl/output.h"
#include "trunkline/v1/admin.pb.h"

namespace trunkline::trunkctl {

struct AdminTarget {
  std::string name;     // "routing", "signaling", "media", or the address
  std::string address;  // host:port of its admin API
};

// status: one row per target (unreachable ones say so; exit 3 if any is).
int NodeStatus(const std::vector<AdminTarget>& targets,
               const AdminCredentialFiles& credentials, OutputFormat format,
               std::ostream& out, std::ostream& err);
// drain / reload: exactly one target.
int NodeDrain(const AdminTarget& target,
              const AdminCredentialFiles& credentials, OutputFormat format,
              std::ostream& out, std::ostream& err);
int NodeReload(const AdminTarget& target,
               const AdminCredentialFiles& credentials, OutputFormat format,
               std::ostream& out, std::ostream& err);

// The node status table's load cells: work in progress ("3 calls"), CPU
// time ("12.3s"), resident memory ("45.1 MiB") and the service's other
// figures ("call_limit=40 trunks=6", sorted by name).
std::vector<std::string> LoadCells(const v1::NodeLoad& load);

// The exit code and one readable line for a failed admin call.
int ReportAdminError(const AdminTarget& target, const grpc::Status& status,
                     std::ostream& err);

}  // namespace trunkline::trunkctl

#endif  // TRUNKLINE_TOOLS_TRUNKCTL_NODE_COMMANDS_H_
