#include "tools/trunkctl/node_commands.h"

#include <chrono>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "grpcpp/create_channel.h"
#include "trunkline/v1/admin.grpc.pb.h"

namespace trunkline::trunkctl {
namespace {

constexpr auto kDeadline = std::chrono::seconds(5);

// A stub and a context with credentials, or the reason there are none.
struct AdminCall {
  std::unique_ptr<v1::Admin::Stub> stub;
  grpc::ClientContext context;
};

absl::Status Prepare(const AdminTarget& target,
                     const AdminCredentialFiles& credentials, AdminCall* call) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
      channel_credentials = AdminChannelCredentials(credentials);
  if (!channel_credentials.ok()) return channel_credentials.status();
  call->stub = v1::Admin::NewStub(
      grpc::CreateChannel(target.address, *channel_credentials));
  call->context.set_deadline(std::chrono::system_clock::now() + kDeadline);
  return AddAdminToken(credentials, &call->context);
}

int CredentialsProblem(const absl::Status& status, std::ostream& err) {
  err << "trunkctl: " << status.message()
      << " (--admin_token_file, or --admin_tls_cert/--admin_tls_key/"
         "--admin_tls_ca)\n";
  return kExitFailed;
}

}  // namespace

std::vector<std::string> LoadCells(const v1::NodeLoad& load) {
  std::string active =
      load.active_unit().empty()
          ? absl::StrCat(load.active())
          : absl::StrCat(load.active(), " ", load.active_unit());
  std::string cpu = absl::StrFormat("%.1fs", load.cpu_seconds());
  std::string memory =
      load.resident_bytes() > 0
          ? absl::StrFormat(
                "%.1f MiB",
                static_cast<double>(load.resident_bytes()) / (1024.0 * 1024.0))
          : "-";
  // Proto maps have no order: sort for a stable line.
  std::map<std::string, double> sorted(load.figures().begin(),
                                       load.figures().end());
  std::vector<std::string> figures;
  figures.reserve(sorted.size());
  for (const auto& [name, value] : sorted) {
    figures.push_back(absl::StrFormat("%s=%g", name, value));
  }
  return {std::move(active), std::move(cpu), std::move(memory),
          figures.empty() ? "-" : absl::StrJoin(figures, " ")};
}

int ReportAdminError(const AdminTarget& target, const grpc::Status& status,
                     std::ostream& err) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      err << "trunkctl: cannot reach " << target.name << " at "
          << target.address << " (" << status.error_message()
          << "); is it running?\n";
      return kExitUnavailable;
    case grpc::StatusCode::UNAUTHENTICATED:
      err << "trunkctl: " << target.name
          << " refused the credentials: " << status.error_message() << "\n";
      return kExitFailed;
    default:
      err << "trunkctl: " << target.name << ": " << status.error_message()
          << "\n";
      return kExitFailed;
  }
}

int NodeStatus(const std::vector<AdminTarget>& targets,
               const AdminCredentialFiles& credentials, OutputFormat format,
               std::ostream& out, std::ostream& err) {
  Table table({"SERVICE", "ADDRESS", "VERSION", "TOPOLOGY", "UPTIME", "STATE",
               "ACTIVE", "CPU", "MEMORY", "FIGURES"});
  int exit_code = kExitOk;
  std::vector<std::string> json;
  for (const AdminTarget& target : targets) {
    AdminCall call;
    if (absl::Status s = Prepare(target, credentials, &call); !s.ok()) {
      return CredentialsProblem(s, err);
    }
    v1::NodeStatus status;
    grpc::Status rpc = call.stub->GetStatus(&call.context, {}, &status);
    if (!rpc.ok()) {
      exit_code = std::max(exit_code, ReportAdminError(target, rpc, err));
      table.AddRow({target.name, target.address, "-", "-", "-",
                    rpc.error_code() == grpc::StatusCode::UNAUTHENTICATED
                        ? "denied"
                        : "unreachable"});
      continue;
    }
    json.push_back(ToJson(status));
    std::string state = status.draining() ? "draining" : "serving";
    if (status.last_reload_errors_size() > 0) {
      state += " (last reload refused: " + status.last_reload_errors(0) + ")";
    }
    std::vector<std::string> row = {status.service(),
                                    target.address,
                                    status.version(),
                                    status.topology_version(),
                                    absl::StrCat(status.uptime_seconds(), "s"),
                                    state};
    for (std::string& cell : LoadCells(status.load())) {
      row.push_back(std::move(cell));
    }
    table.AddRow(std::move(row));
  }
  if (format == OutputFormat::kJson) {
    out << "[" << absl::StrJoin(json, ",\n") << "]\n";
  } else {
    table.Print(out);
  }
  return exit_code;
}

int NodeDrain(const AdminTarget& target,
              const AdminCredentialFiles& credentials, OutputFormat format,
              std::ostream& out, std::ostream& err) {
  AdminCall call;
  if (absl::Status s = Prepare(target, credentials, &call); !s.ok()) {
    return CredentialsProblem(s, err);
  }
  v1::DrainNodeResponse response;
  grpc::Status rpc = call.stub->DrainNode(&call.context, {}, &response);
  if (!rpc.ok()) return ReportAdminError(target, rpc, err);
  if (format == OutputFormat::kJson) {
    out << ToJson(response);
  } else {
    out << target.name << " at " << target.address
        << (response.already_draining() ? ": already draining\n"
                                        : ": draining; it stops once its work "
                                          "has finished\n");
  }
  return kExitOk;
}

int NodeReload(const AdminTarget& target,
               const AdminCredentialFiles& credentials, OutputFormat format,
               std::ostream& out, std::ostream& err) {
  AdminCall call;
  if (absl::Status s = Prepare(target, credentials, &call); !s.ok()) {
    return CredentialsProblem(s, err);
  }
  v1::ReloadTopologyResponse response;
  grpc::Status rpc = call.stub->ReloadTopology(&call.context, {}, &response);
  if (!rpc.ok()) return ReportAdminError(target, rpc, err);
  if (format == OutputFormat::kJson) {
    out << ToJson(response);
  } else if (response.applied()) {
    out << target.name << ": topology " << response.topology_version()
        << " in use\n";
  } else {
    err << target.name << ": the new topology was refused; still using "
        << response.topology_version() << "\n";
    for (const std::string& e : response.errors()) err << e << "\n";
  }
  return response.applied() ? kExitOk : kExitFailed;
}

}  // namespace trunkline::trunkctl
