// trunkctl: the command line for Trunkline operators.
//
//   trunkctl calls list|show ID|hangup ID   [--signaling=HOST:PORT]
//   trunkctl trunks list|show T|enable T|disable T
//   trunkctl trace [--call ID | --trunk T] [--seconds N] [--output json]
//   trunkctl topology validate FILE
//   trunkctl topology show FILE [--output json]
//   trunkctl route explain --caller N --callee N [--from-trunk T |
//       --from-user URI] [--down T1,T2] [--call-id ID] [--output json]
//
// Exit codes: 0 done, 1 failed (invalid input, refused), 2 bad command line,
// 3 a service could not be reached.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/flags.h"
#include "services/common/utf8.h"
#include "tools/trunkctl/media_commands.h"
#include "tools/trunkctl/node_commands.h"
#include "tools/trunkctl/output.h"
#include "tools/trunkctl/route_commands.h"
#include "tools/trunkctl/signaling_commands.h"
#include "tools/trunkctl/topology_commands.h"
#include "tools/trunkctl/trace_command.h"

ABSL_FLAG(std::string, output, "table", "table (for people) or json.");
ABSL_FLAG(std::string, caller, "", "route explain: the calling number.");
ABSL_FLAG(std::string, callee, "", "route explain: the dialed number.");
ABSL_FLAG(std::string, from_trunk, "",
          "route explain: the call arrives on this trunk.");
ABSL_FLAG(std::string, from_user, "",
          "route explain: the call comes from this UC user's SIP URI.");
ABSL_FLAG(std::string, down, "",
          "route explain: comma-separated trunks to treat as down.");
ABSL_FLAG(std::string, admin, "",
          "node commands: host:port of the admin API to talk to (default: "
          "the local stack's address of the named service).");
ABSL_FLAG(std::string, call, "",
          "trace: only this call (either leg's Call-ID).");
ABSL_FLAG(std::string, trunk, "", "trace: only this trunk's messages.");
ABSL_FLAG(int, seconds, 0, "trace: stop after N seconds (0: until ^C).");
ABSL_FLAG(std::string, call_id, "trunkctl-explain",
          "route explain: Call-ID that weighted balancing hashes.");

namespace {

constexpr char kUsage[] = R"(trunkctl: operate Trunkline.

  trunkctl node status [SERVICE]         version, topology, uptime, state,
                                         load (work in progress, CPU,
                                         memory, the service's figures)
  trunkctl node drain SERVICE            stop taking work; exit when done
  trunkctl node reload SERVICE           reload the topology file now
           (SERVICE: routing, media or signaling; --admin=HOST:PORT to pick
            a node elsewhere; credentials: --admin_token_file or
            --admin_tls_cert/--admin_tls_key/--admin_tls_ca)
  trunkctl calls list                    calls in progress
  trunkctl calls show ID                 one call: legs, route, failovers,
                                         and its media streams' figures
                                         (packets, loss, jitter, RTT, MOS)
  trunkctl calls hangup ID               end a call on both legs
  trunkctl trunks list                   trunks: up, down (OPTIONS), disabled
  trunkctl trunks show T
  trunkctl trunks enable T | disable T   disable = drain: no new calls,
                                         active calls finish
  trunkctl trace [--call ID | --trunk T] [--seconds N]
                                         live SIP messages as a ladder
                                         (--output json: one per line)
           (calls, trunks and trace ask signaling's admin API at
            --signaling=HOST:PORT)
  trunkctl media query CALL_ID           per-leg figures of an anchored call
                                         (asks --media=HOST:PORT[,...])
  trunkctl topology validate FILE        check a topology file
  trunkctl topology show FILE            print it with defaults filled in
  trunkctl route explain --caller N --callee N
           [--from-trunk T | --from-user URI] [--down T1,T2]
                                         trace a routing decision
                                         (asks --routing=HOST:PORT)

Every command takes --output=table|json. Exit codes: 0 done, 1 failed,
2 bad command line, 3 a service could not be reached.)";

int Usage(const std::string& problem) {
  std::cerr << "trunkctl: " << problem << "\n\n" << kUsage << "\n";
  return trunkline::trunkctl::kExitUsage;
}

// Operators type --from-trunk as the issue and the usage text spell it;
// absl flag names use underscores. Rewrites the name part only.
std::vector<std::string> DashesToUnderscores(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (std::string& arg : args) {
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) continue;
    size_t end = arg.find('=');
    if (end == std::string::npos) end = arg.size();
    for (size_t i = 2; i < end; ++i) {
      if (arg[i] == '-') arg[i] = '_';
    }
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<std::string> rewritten = DashesToUnderscores(argc, argv);
  std::vector<char*> rewritten_argv;
  for (std::string& arg : rewritten) rewritten_argv.push_back(arg.data());
  std::vector<char*> positional = absl::ParseCommandLine(
      static_cast<int>(rewritten_argv.size()), rewritten_argv.data());
  std::vector<std::string> args(positional.begin() + 1, positional.end());
  auto format =
      trunkline::trunkctl::ParseOutputFormat(absl::GetFlag(FLAGS_output));
  if (!format.ok()) return Usage(std::string(format.status().message()));
  if (args.empty()) return Usage("no command given");

  if (args[0] == "topology") {
    if (args.size() != 3) return Usage("topology needs a verb and a FILE");
    if (args[1] == "validate") {
      return trunkline::trunkctl::ValidateTopology(args[2], *format, std::cout,
                                                   std::cerr);
    }
    if (args[1] == "show") {
      return trunkline::trunkctl::ShowTopology(args[2], *format, std::cout,
                                               std::cerr);
    }
    return Usage("topology verbs: validate, show");
  }
  // Everything else goes to a service in protobuf strings, which take only
  // UTF-8: bytes from a terminal in another charset would come back as the
  // service's "unable to parse request". (A topology FILE above is a path,
  // whatever its bytes.)
  for (int i = 1; i < argc; ++i) {
    if (!trunkline::IsValidUtf8(argv[i])) {
      return Usage(absl::StrCat("argument ", i,
                                " is not valid UTF-8 (is the terminal set to "
                                "UTF-8?)"));
    }
  }
  if (args[0] == "media") {
    if (args.size() != 3 || args[1] != "query") {
      return Usage("media verbs: query CALL_ID");
    }
    std::vector<std::string> media;
    for (absl::string_view m :
         absl::StrSplit(absl::GetFlag(FLAGS_media), ',', absl::SkipEmpty())) {
      media.emplace_back(m);
    }
    return trunkline::trunkctl::MediaQuery(media, args[2], *format, std::cout,
                                           std::cerr);
  }
  if (args[0] == "node") {
    if (args.size() < 2 || args.size() > 3) {
      return Usage("node needs a verb: status, drain or reload");
    }
    std::vector<trunkline::trunkctl::AdminTarget> targets;
    const std::vector<std::string> services =
        args.size() == 3
            ? std::vector<std::string>{args[2]}
            : std::vector<std::string>{"signaling", "routing", "media"};
    for (const std::string& service : services) {
      std::string address = absl::GetFlag(FLAGS_admin);
      if (address.empty()) {
        if (service == "routing") {
          address = trunkline::kRoutingDefaults.admin;
        } else if (service == "media") {
          address = trunkline::kMediaDefaults.admin;
        } else if (service == "signaling") {
          address = absl::GetFlag(FLAGS_signaling);
        } else {
          return Usage("unknown service \"" + service +
                       "\": use routing, media or signaling");
        }
      }
      targets.push_back({service, address});
    }
    const trunkline::AdminCredentialFiles credentials =
        trunkline::ReadAdminCredentialFlags();
    if (args[1] == "status") {
      return trunkline::trunkctl::NodeStatus(targets, credentials, *format,
                                             std::cout, std::cerr);
    }
    if (args.size() != 3) return Usage("node " + args[1] + " needs a SERVICE");
    if (args[1] == "drain") {
      return trunkline::trunkctl::NodeDrain(targets[0], credentials, *format,
                                            std::cout, std::cerr);
    }
    if (args[1] == "reload") {
      return trunkline::trunkctl::NodeReload(targets[0], credentials, *format,
                                             std::cout, std::cerr);
    }
    return Usage("node verbs: status, drain, reload");
  }
  if (args[0] == "calls" || args[0] == "trunks") {
    const trunkline::trunkctl::AdminTarget signaling{
        "signaling", absl::GetFlag(FLAGS_signaling)};
    const trunkline::AdminCredentialFiles credentials =
        trunkline::ReadAdminCredentialFlags();
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    const int code =
        args[0] == "calls"
            ? trunkline::trunkctl::CallsCommand(rest, signaling, credentials,
                                                *format, std::cout, std::cerr)
            : trunkline::trunkctl::TrunksCommand(rest, signaling, credentials,
                                                 *format, std::cout, std::cerr);
    if (code == trunkline::trunkctl::kExitUsage)
      std::cerr << "\n" << kUsage << "\n";
    return code;
  }
  if (args[0] == "trace") {
    if (args.size() != 1) return Usage("trace takes no operands");
    trunkline::trunkctl::TraceOptions options;
    options.call_id = absl::GetFlag(FLAGS_call);
    options.trunk = absl::GetFlag(FLAGS_trunk);
    options.seconds = absl::GetFlag(FLAGS_seconds);
    if (!options.call_id.empty() && !options.trunk.empty()) {
      return Usage("give --call or --trunk, not both");
    }
    if (options.seconds < 0) return Usage("--seconds must be 0 or more");
    return trunkline::trunkctl::TraceCommand(
        options, {"signaling", absl::GetFlag(FLAGS_signaling)},
        trunkline::ReadAdminCredentialFlags(), *format, std::cout, std::cerr);
  }
  if (args[0] == "route") {
    if (args.size() != 2 || args[1] != "explain") {
      return Usage("route verbs: explain");
    }
    trunkline::trunkctl::ExplainOptions options;
    options.routing_address = absl::GetFlag(FLAGS_routing);
    options.caller = absl::GetFlag(FLAGS_caller);
    options.callee = absl::GetFlag(FLAGS_callee);
    options.from_trunk = absl::GetFlag(FLAGS_from_trunk);
    options.from_user = absl::GetFlag(FLAGS_from_user);
    options.call_id = absl::GetFlag(FLAGS_call_id);
    for (absl::string_view t :
         absl::StrSplit(absl::GetFlag(FLAGS_down), ',', absl::SkipEmpty())) {
      options.down_trunks.emplace_back(t);
    }
    if (options.callee.empty()) return Usage("route explain needs --callee");
    if (!options.from_trunk.empty() && !options.from_user.empty()) {
      return Usage("give --from-trunk or --from-user, not both");
    }
    return trunkline::trunkctl::ExplainRoute(options, *format, std::cout,
                                             std::cerr);
  }
  return Usage("unknown command \"" + args[0] + "\"");
}
