#include "tools/trunkctl/signaling_commands.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "trunkline/v1/admin.grpc.pb.h"

namespace trunkline::trunkctl {
namespace {

constexpr auto kDeadline = std::chrono::seconds(5);

struct Call {
  std::unique_ptr<v1::SignalingAdmin::Stub> stub;
  grpc::ClientContext context;
};

// A stub and a context with credentials; kExitOk, or the exit code after
// saying what is wrong with the credentials.
int Prepare(const AdminTarget& target, const AdminCredentialFiles& credentials,
            Call* call, std::ostream& err) {
  auto channel_credentials = AdminChannelCredentials(credentials);
  absl::Status s = channel_credentials.status();
  if (s.ok()) {
    call->stub = v1::SignalingAdmin::NewStub(
        grpc::CreateChannel(target.address, *channel_credentials));
    call->context.set_deadline(std::chrono::system_clock::now() + kDeadline);
    s = AddAdminToken(credentials, &call->context);
  }
  if (s.ok()) return kExitOk;
  err << "trunkctl: " << s.message()
      << " (--admin_token_file, or --admin_tls_cert/--admin_tls_key/"
         "--admin_tls_ca)\n";
  return kExitFailed;
}

std::string Name(v1::CallDirection d) {
  switch (d) {
    case v1::CALL_DIRECTION_OUTBOUND:
      return "outbound";
    case v1::CALL_DIRECTION_INBOUND:
      return "inbound";
    case v1::CALL_DIRECTION_INTER_TRUNK:
      return "inter-trunk";
    default:
      return "-";
  }
}

std::string Name(v1::CallState s) {
  switch (s) {
    case v1::CALL_STATE_ROUTING:
      return "routing";
    case v1::CALL_STATE_PROCEEDING:
      return "proceeding";
    case v1::CALL_STATE_EARLY:
      return "early";
    case v1::CALL_STATE_ANSWERED:
      return "answered";
    case v1::CALL_STATE_ENDING:
      return "ending";
    default:
      return "-";
  }
}

std::string Name(v1::TrunkState s) {
  switch (s) {
    case v1::TRUNK_STATE_UP:
      return "up";
    case v1::TRUNK_STATE_DOWN:
      return "down";
    case v1::TRUNK_STATE_DISABLED:
      return "disabled";
    default:
      return "-";
  }
}

std::string Age(int64_t since_unix_ms) {
  if (since_unix_ms <= 0) return "-";
  return absl::StrCat((absl::ToUnixMillis(absl::Now()) - since_unix_ms) / 1000,
                      "s");
}

void PrintCalls(const v1::ListCallsResponse& r, std::ostream& out) {
  Table table(
      {"CALL-ID", "DIRECTION", "STATE", "TRUNK", "CALLER", "CALLEE", "AGE"});
  for (const v1::CallSummary& c : r.calls()) {
    table.AddRow({c.call_id(), Name(c.direction()), Name(c.state()),
                  c.trunk().empty() ? "uc-side" : c.trunk(), c.caller(),
                  c.callee(), Age(c.start_unix_ms())});
  }
  table.Print(out);
}

// "-" for a trunk that does not register; else whether it is, and until
// when (or why not, and when we try again).
std::string RegistrationText(const v1::TrunkStatus& t) {
  if (!t.has_registration()) return "-";
  const v1::TrunkRegistration& r = t.registration();
  const int64_t left_s = std::max<int64_t>(
      0, (r.expires_unix_ms() - absl::ToUnixMillis(absl::Now())) / 1000);
  if (r.registered()) {
    return absl::StrCat("registered, ", left_s, "s left");
  }
  return absl::StrCat("not registered",
                      r.last_error().empty() ? "" : ": " + r.last_error(),
                      " (retry in ", left_s, "s)");
}

void PrintTrunks(const std::vector<v1::TrunkStatus>& trunks,
                 std::ostream& out) {
  Table table({"TRUNK", "GATEWAY", "STATE", "SINCE", "OPTIONS-RTT", "CALLS",
               "REGISTRATION"});
  for (const v1::TrunkStatus& t : trunks) {
    table.AddRow(
        {t.trunk(), t.gateway(), Name(t.state()), Age(t.state_since_unix_ms()),
         t.options_rtt_ms() > 0 ? absl::StrCat(t.options_rtt_ms(), " ms") : "-",
         t.max_concurrent_calls() > 0
             ? absl::StrCat(t.active_calls(), "/", t.max_concurrent_calls())
             : absl::StrCat(t.active_calls()),
         RegistrationText(t)});
  }
  table.Print(out);
}

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

// "1.2s" since a Unix time in ms; "-" before the first packet.
std::string PacketAge(int64_t unix_ms, int64_t now_unix_ms) {
  if (unix_ms <= 0) return "-";
  return absl::StrFormat("%.1fs", static_cast<double>(std::max<int64_t>(
                                      0, now_unix_ms - unix_ms)) /
                                      1000.0);
}

int Usage(const std::string& problem, std::ostream& err) {
  err << "trunkctl: " << problem << "\n";
  return kExitUsage;
}

}  // namespace

void PrintCallDetail(const v1::CallDetail& d, int64_t now_unix_ms,
                     std::ostream& out) {
  const v1::CallSummary& s = d.summary();
  const std::string age =
      s.start_unix_ms() > 0
          ? absl::StrCat((now_unix_ms - s.start_unix_ms()) / 1000, "s")
          : "-";
  out << "call      " << s.call_id() << "\n"
      << "direction " << Name(s.direction()) << "\n"
      << "state     " << Name(s.state()) << "\n"
      << "caller    " << s.caller() << "\n"
      << "callee    " << s.callee() << "\n"
      << "age       " << age << "\n"
      << "route     " << (d.route().empty() ? "-" : d.route()) << "\n";
  if (d.failovers_size() > 0) {
    out << "failovers " << absl::StrJoin(d.failovers(), ", ") << "\n";
  }
  for (const v1::LegDetail& leg : d.legs()) {
    out << "leg       " << leg.role() << " " << leg.remote() << " (local "
        << leg.local() << ")\n";
  }
  if (d.media_instance().empty()) {
    out << "media     bypass (not anchored)\n";
    return;
  }
  out << "media     " << d.media_instance() << "\n";
  if (!d.media_error().empty()) {
    out << "media     no figures: " << d.media_error() << "\n";
  }
  if (d.media_streams_size() == 0) return;
  out << "\n";
  Table table({"LEG", "M-LINE", "SSRC", "PACKETS", "LOST", "JITTER ms",
               "RTT ms", "MOS", "LAST PACKET", "SRTP AUTH FAILS"});
  for (const v1::StreamStats& st : d.media_streams()) {
    table.AddRow({LegName(st.leg()), absl::StrCat(st.mline()),
                  absl::StrFormat("%08x", st.ssrc()),
                  absl::StrCat(st.packets()), absl::StrCat(st.packets_lost()),
                  absl::StrFormat("%.1f", st.jitter_ms()),
                  absl::StrFormat("%.1f", st.rtt_ms()),
                  absl::StrFormat("%.2f", st.mos()),
                  PacketAge(st.last_packet_unix_ms(), now_unix_ms),
                  absl::StrCat(st.srtp_auth_failures())});
  }
  table.Print(out);
}

int CallsCommand(const std::vector<std::string>& args,
                 const AdminTarget& target,
                 const AdminCredentialFiles& credentials, OutputFormat format,
                 std::ostream& out, std::ostream& err) {
  if (args.empty()) return Usage("calls verbs: list, show ID, hangup ID", err);
  const std::string& verb = args[0];
  if (verb == "list" && args.size() == 1) {
    Call call;
    if (int code = Prepare(target, credentials, &call, err)) return code;
    v1::ListCallsResponse r;
    grpc::Status rpc = call.stub->ListCalls(&call.context, {}, &r);
    if (!rpc.ok()) return ReportAdminError(target, rpc, err);
    if (format == OutputFormat::kJson) {
      out << ToJson(r);
    } else {
      PrintCalls(r, out);
    }
    return kExitOk;
  }
  if (verb == "show" && args.size() == 2) {
    Call call;
    if (int code = Prepare(target, credentials, &call, err)) return code;
    v1::GetCallRequest req;
    req.set_call_id(args[1]);
    v1::CallDetail d;
    grpc::Status rpc = call.stub->GetCall(&call.context, req, &d);
    if (!rpc.ok()) return ReportAdminError(target, rpc, err);
    if (format == OutputFormat::kJson) {
      out << ToJson(d);
      return kExitOk;
    }
    PrintCallDetail(d, absl::ToUnixMillis(absl::Now()), out);
    return kExitOk;
  }
  if (verb == "hangup" && args.size() == 2) {
    Call call;
    if (int code = Prepare(target, credentials, &call, err)) return code;
    v1::HangupCallRequest req;
    req.set_call_id(args[1]);
    req.set_reason("operator hangup (trunkctl)");
    v1::HangupCallResponse r;
    grpc::Status rpc = call.stub->HangupCall(&call.context, req, &r);
    if (!rpc.ok()) return ReportAdminError(target, rpc, err);
    if (format == OutputFormat::kJson) {
      out << ToJson(r);
    } else {
      out << "call " << args[1] << " hung up\n";
    }
    return kExitOk;
  }
  return Usage("calls verbs: list, show ID, hangup ID", err);
}

int TrunksCommand(const std::vector<std::string>& args,
                  const AdminTarget& target,
                  const AdminCredentialFiles& credentials, OutputFormat format,
                  std::ostream& out, std::ostream& err) {
  const char* verbs = "trunks verbs: list, show T, enable T, disable T";
  if (args.empty()) return Usage(verbs, err);
  const std::string& verb = args[0];
  Call call;
  std::vector<v1::TrunkStatus> trunks;
  grpc::Status rpc;
  if (verb == "list" && args.size() == 1) {
    if (int code = Prepare(target, credentials, &call, err)) return code;
    v1::ListTrunksResponse r;
    rpc = call.stub->ListTrunks(&call.context, {}, &r);
    if (rpc.ok() && format == OutputFormat::kJson) {
      out << ToJson(r);
      return kExitOk;
    }
    trunks.assign(r.trunks().begin(), r.trunks().end());
  } else if (verb == "show" && args.size() == 2) {
    if (int code = Prepare(target, credentials, &call, err)) return code;
    v1::GetTrunkRequest req;
    req.set_trunk(args[1]);
    trunks.emplace_back();
    rpc = call.stub->GetTrunk(&call.context, req, &trunks.back());
  } else if ((verb == "enable" || verb == "disable") && args.size() == 2) {
    if (int code = Prepare(target, credentials, &call, err)) return code;
    v1::SetTrunkEnabledRequest req;
    req.set_trunk(args[1]);
    req.set_enabled(verb == "enable");
    trunks.emplace_back();
    rpc = call.stub->SetTrunkEnabled(&call.context, req, &trunks.back());
  } else {
    return Usage(verbs, err);
  }
  if (!rpc.ok()) return ReportAdminError(target, rpc, err);
  if (format == OutputFormat::kJson) {
    out << ToJson(trunks.front());
  } else {
    PrintTrunks(trunks, out);
  }
  return kExitOk;
}

}  // namespace trunkline::trunkctl
