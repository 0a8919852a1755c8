#include "tools/trunkctl/media_commands.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "trunkline/v1/media.grpc.pb.h"

namespace trunkline::trunkctl {
namespace {

const char* LegName(v1::Leg leg) {
  switch (leg) {
    case v1::LEG_CALLER:
      return "caller";
    case v1::LEG_CALLEE:
      return "callee";
    default:
      return "-";
  }
}

}  // namespace

int MediaQuery(const std::vector<std::string>& media_addresses,
               const std::string& call_id, OutputFormat format,
               std::ostream& out, std::ostream& err) {
  int unreachable = 0;
  for (const std::string& address : media_addresses) {
    auto stub = v1::Media::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    v1::QueryRequest request;
    request.set_call_id(call_id);
    v1::QueryResponse response;
    grpc::Status status = stub->Query(&context, request, &response);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) continue;
    if (!status.ok()) {
      err << "trunkctl: media at " << address << ": " << status.error_message()
          << "\n";
      ++unreachable;
      continue;
    }
    if (format == OutputFormat::kJson) {
      out << ToJson(response);
      return kExitOk;
    }
    out << "call " << call_id << " on media " << address << "\n";
    Table table({"M-LINE", "FROM LEG", "SSRC", "PACKETS", "LOST", "JITTER ms",
                 "RTT ms", "MOS", "SRTP AUTH FAILS", "DROPPED"});
    for (const v1::StreamStats& s : response.streams()) {
      table.AddRow({absl::StrCat(s.mline()), LegName(s.leg()),
                    absl::StrFormat("%08x", s.ssrc()),
                    absl::StrCat(s.packets()), absl::StrCat(s.packets_lost()),
                    absl::StrFormat("%.1f", s.jitter_ms()),
                    absl::StrFormat("%.1f", s.rtt_ms()),
                    absl::StrFormat("%.2f", s.mos()),
                    absl::StrCat(s.srtp_auth_failures()),
                    absl::StrCat(s.dropped())});
    }
    table.Print(out);
    return kExitOk;
  }
  if (unreachable == static_cast<int>(media_addresses.size())) {
    err << "trunkctl: no media instance could be reached (--media)\n";
    return kExitUnavailable;
  }
  err << "trunkctl: no media instance anchors call " << call_id << "\n";
  return kExitFailed;
}

}  // namespace trunkline::trunkctl
