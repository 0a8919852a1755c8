// `trunkctl trace [--call ID | --trunk T] [--seconds N]`: the signaling
// service's live SIP trace (SignalingAdmin.Trace) as a ladder, one line per
// message, or one JSON object per line with --output json.
#ifndef TRUNKLINE_TOOLS_TRUNKCTL_TRACE_COMMAND_H_
#define TRUNKLINE_TOOLS_TRUNKCTL_TRACE_COMMAND_H_

#include <ostream>
#include <string>

#include "absl/time/time.h"
#include "services/common/admin_auth.h"
#include "tools/trunkctl/node_commands.h"
#include "tools/trunkctl/output.h"
#include "trunkline/v1/admin.pb.h"

namespace trunkline::trunkctl {

struct TraceOptions {
  std::string call_id;
  std::string trunk;
  // Stop after this long; 0: until interrupted.
  int seconds = 0;
};

// One ladder line: time, arrow (<- in, -> out), peer, first line, and the
// call and trunk when known, e.g.
//   12:00:01.250 <- 127.0.0.11:5060/udp    INVITE sip:... SIP/2.0  [call a@b
//   trunk pstn-dub]
std::string LadderLine(const v1::TraceEvent& event, absl::TimeZone zone);
// The event as one line of proto JSON (no newlines inside).
std::string JsonLine(const v1::TraceEvent& event);

// Streams until the time is up (exit 0), the server ends the stream, or an
// error (the usual exit codes). Writes each line as it comes.
int TraceCommand(const TraceOptions& options, const AdminTarget& signaling,
                 const AdminCredentialFiles& credentials, OutputFormat format,
                 std::ostream& out, std::ostream& err);

}  // namespace trunkline::trunkctl

#endif  // TRUNKLINE_TOOLS_TRUNKCTL_TRACE_COMMAND_H_
