#include "tools/trunkctl/route_commands.h"

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "trunkline/v1/routing.grpc.pb.h"

namespace trunkline::trunkctl {
namespace {

constexpr auto kDeadline = std::chrono::seconds(5);

const char* StageName(v1::ExplainStep::Stage stage) {
  switch (stage) {
    case v1::ExplainStep::STAGE_ORIGIN:
      return "origin";
    case v1::ExplainStep::STAGE_NORMALIZATION:
      return "normalize";
    case v1::ExplainStep::STAGE_POLICY:
      return "policy";
    case v1::ExplainStep::STAGE_ROUTE:
      return "route";
    case v1::ExplainStep::STAGE_TRUNK:
      return "trunk";
    case v1::ExplainStep::STAGE_TRANSLATION:
      return "translate";
    case v1::ExplainStep::STAGE_RESULT:
      return "result";
    default:
      return "step";
  }
}

}  // namespace

v1::RouteRequest BuildRouteRequest(const ExplainOptions& options) {
  v1::RouteRequest request;
  request.set_call_id(options.call_id);
  request.set_caller(options.caller);
  request.set_callee(options.callee);
  if (!options.from_trunk.empty()) {
    request.mutable_origin()->set_trunk(options.from_trunk);
  } else {
    request.mutable_origin()->set_user_uri(options.from_user);
  }
  for (const std::string& t : options.down_trunks) request.add_down_trunks(t);
  return request;
}

namespace {
// A trunk's RFC 4028 settings as a person reads them: "900 s", "-" when off.
std::string SessionTimerText(const v1::SessionTimer& t) {
  if (!t.enabled()) return "-";
  return absl::StrCat(t.session_expires_seconds(), " s");
}

// Where the candidate's INVITE goes: "gw-dub 127.0.0.21:5060", or for a
// gateway located by DNS SRV "itsp sip.itsp.example (SRV)".
std::string NextHopText(const v1::NextHop& hop) {
  if (hop.dns_srv())
    return absl::StrCat(hop.gateway(), " ", hop.host(), " (SRV)");
  return absl::StrCat(hop.gateway(), " ", hop.host(), ":", hop.port());
}

// What the candidate's INVITE carries beyond the numbers, as the trunk's
// configuration allows it: "PAI,history,location", "anonymous", "-".
std::string ForwardsText(const v1::HeaderPlan& h) {
  std::vector<std::string> parts;
  if (h.anonymous()) parts.push_back("anonymous");
  if (h.forward_p_asserted_identity()) parts.push_back("PAI");
  if (h.forward_call_history()) parts.push_back("history");
  if (h.forward_location()) parts.push_back("location");
  return parts.empty() ? "-" : absl::StrJoin(parts, ",");
}
}  // namespace

void PrintExplanation(const v1::RouteExplanation& e, std::ostream& out) {
  const v1::RouteDecision& d = e.decision();
  for (const v1::ExplainStep& step : e.steps()) {
    out << absl::StrFormat("  %-10s %s %s\n", StageName(step.stage()),
                           step.accepted() ? "+" : "-", step.message());
  }
  out << "\n";
  if (d.candidates_size() == 0) {
    out << "REJECT " << d.reject().sip_code() << " " << d.reject().reason()
        << "\n";
  } else {
    Table table({"#", "TRUNK", "ROUTE", "USAGE", "NEXT HOP", "CALLED",
                 "CALLING", "MEDIA", "FORWARDS", "SESSION TIMER"});
    int i = 0;
    for (const v1::Candidate& c : d.candidates()) {
      table.AddRow(
          {absl::StrCat(++i), c.trunk().empty() ? "(uc side)" : c.trunk(),
           c.route().empty() ? "-" : c.route(),
           c.pstn_usage().empty() ? "-" : c.pstn_usage(),
           NextHopText(c.next_hop()), c.called_number(), c.calling_number(),
           c.media().anchor() ? "anchored" : "bypass",
           ForwardsText(c.headers()),
           SessionTimerText(c.trunk().empty() ? v1::SessionTimer()
                                              : c.session_timer())});
    }
    table.Print(out);
    if (d.origin_session_timer().enabled()) {
      out << "\ncaller's leg: session timer "
          << SessionTimerText(d.origin_session_timer())
          << " (the calling trunk's)\n";
    }
  }
  out << "\ntopology " << d.topology_version() << "\n";
}

int ExplainRoute(const ExplainOptions& options, OutputFormat format,
                 std::ostream& out, std::ostream& err) {
  auto channel = grpc::CreateChannel(options.routing_address,
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::Routing::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kDeadline);
  v1::RouteExplanation explanation;
  grpc::Status status =
      stub->Explain(&context, BuildRouteRequest(options), &explanation);
  if (!status.ok()) {
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
        status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      err << "trunkctl: cannot reach the routing service at "
          << options.routing_address << " (" << status.error_message()
          << "); is it running? (--routing=HOST:PORT)\n";
      return kExitUnavailable;
    }
    err << "trunkctl: routing refused the request: " << status.error_message()
        << "\n";
    return kExitFailed;
  }
  if (format == OutputFormat::kJson) {
    out << ToJson(explanation);
  } else {
    PrintExplanation(explanation, out);
  }
  return explanation.decision().candidates_size() > 0 ? kExitOk : kExitFailed;
}

}  // namespace trunkline::trunkctl
