// trunkctl: the command line for Trunkline operators.
//
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
#include "absl/strings/str_split.h"
#include "services/common/flags.h"
#include "tools/trunkctl/output.h"
#include "tools/trunkctl/route_commands.h"
#include "tools/trunkctl/topology_commands.h"

ABSL_FLAG(std::string, output, "table", "table (for people) or json.");
ABSL_FLAG(std::string, caller, "", "route explain: the calling number.");
ABSL_FLAG(std::string, callee, "", "route explain: the dialed number.");
ABSL_FLAG(std::string, from_trunk, "",
          "route explain: the call arrives on this trunk.");
ABSL_FLAG(std::string, from_user, "",
          "route explain: the call comes from this UC user's SIP URI.");
ABSL_FLAG(std::string, down, "",
          "route explain: comma-separated trunks to treat as down.");
ABSL_FLAG(std::string, call_id, "trunkctl-explain",
          "route explain: Call-ID that weighted balancing hashes.");

namespace {

constexpr char kUsage[] = R"(trunkctl: operate Trunkline.

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
