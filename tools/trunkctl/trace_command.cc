#include "tools/trunkctl/trace_command.h"

#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "trunkline/v1/admin.grpc.pb.h"

namespace trunkline::trunkctl {

std::string LadderLine(const v1::TraceEvent& event, absl::TimeZone zone) {
  const std::string time = absl::FormatTime(
      "%H:%M:%E3S", absl::FromUnixMillis(event.unix_ms()), zone);
  const char* arrow = event.direction() == "in"    ? "<-"
                      : event.direction() == "out" ? "->"
                                                   : "!!";
  std::string line = absl::StrFormat("%s %s %-22s %s", time, arrow,
                                     event.peer(), event.summary());
  if (!event.call_id().empty() || !event.trunk().empty()) {
    absl::StrAppend(&line, "  [");
    if (!event.call_id().empty())
      absl::StrAppend(&line, "call ", event.call_id());
    if (!event.call_id().empty() && !event.trunk().empty()) {
      absl::StrAppend(&line, " ");
    }
    if (!event.trunk().empty()) absl::StrAppend(&line, "trunk ", event.trunk());
    absl::StrAppend(&line, "]");
  }
  return line;
}

std::string JsonLine(const v1::TraceEvent& event) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;  // one object per line
  (void)google::protobuf::util::MessageToJsonString(event, &json, options);
  return json;
}

int TraceCommand(const TraceOptions& options, const AdminTarget& target,
                 const AdminCredentialFiles& credentials, OutputFormat format,
                 std::ostream& out, std::ostream& err) {
  auto channel_credentials = AdminChannelCredentials(credentials);
  grpc::ClientContext context;
  absl::Status s = channel_credentials.status();
  if (s.ok()) s = AddAdminToken(credentials, &context);
  if (!s.ok()) {
    err << "trunkctl: " << s.message()
        << " (--admin_token_file, or --admin_tls_cert/--admin_tls_key/"
           "--admin_tls_ca)\n";
    return kExitFailed;
  }
  if (options.seconds > 0) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(options.seconds));
  }
  auto stub = v1::SignalingAdmin::NewStub(
      grpc::CreateChannel(target.address, *channel_credentials));
  v1::TraceRequest request;
  request.set_call_id(options.call_id);
  request.set_trunk(options.trunk);
  std::unique_ptr<grpc::ClientReader<v1::TraceEvent>> reader =
      stub->Trace(&context, request);
  const absl::TimeZone zone = absl::LocalTimeZone();
  v1::TraceEvent event;
  while (reader->Read(&event)) {
    // Flushed per line: a person (or a script) watches as it happens.
    out << (format == OutputFormat::kJson ? JsonLine(event)
                                          : LadderLine(event, zone))
        << std::endl;
  }
  const grpc::Status status = reader->Finish();
  // The time asked for is up: that is how a bounded trace ends.
  if (status.ok() ||
      (options.seconds > 0 &&
       status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
    return kExitOk;
  }
  return ReportAdminError(target, status, err);
}

}  // namespace trunkline::trunkctl
