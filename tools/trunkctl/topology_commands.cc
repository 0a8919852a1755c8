#include "tools/trunkctl/topology_commands.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/topology/loader.h"

namespace trunkline::trunkctl {
namespace {

std::shared_ptr<const LoadedTopology> Load(const std::string& file,
                                           std::ostream& err) {
  std::vector<TopologyError> errors;
  auto topology = LoadTopologyFile(file, &errors);
  for (const TopologyError& e : errors) err << e.ToString() << "\n";
  if (!topology) {
    err << file << ": " << errors.size() << " error"
        << (errors.size() == 1 ? "" : "s") << "; the topology is not valid\n";
  }
  return topology;
}

std::string TransportName(int transport) {
  switch (transport) {
    case v1::TRANSPORT_UDP:
      return "udp";
    case v1::TRANSPORT_TCP:
      return "tcp";
    case v1::TRANSPORT_TLS:
      return "tls";
  }
  return "-";
}

}  // namespace

int ValidateTopology(const std::string& file, OutputFormat format,
                     std::ostream& out, std::ostream& err) {
  auto topology = Load(file, err);
  if (!topology) return kExitFailed;
  const v1::Topology& t = topology->topology;
  if (format == OutputFormat::kJson) {
    out << "{\"file\": \"" << file << "\", \"valid\": true, \"version\": \""
        << topology->version << "\"}\n";
    return kExitOk;
  }
  out << file << ": valid (version " << topology->version << ": "
      << t.pools_size() << " pools, " << t.gateways_size() << " gateways, "
      << t.trunks_size() << " trunks, " << t.dial_plans_size()
      << " dial plans, " << t.voice_routes_size() << " voice routes)\n";
  return kExitOk;
}

int ShowTopology(const std::string& file, OutputFormat format,
                 std::ostream& out, std::ostream& err) {
  auto topology = Load(file, err);
  if (!topology) return kExitFailed;
  const v1::Topology& t = topology->topology;
  if (format == OutputFormat::kJson) {
    out << ToJson(t);
    return kExitOk;
  }
  out << "topology " << topology->version << " from " << file << "\n\n";
  Table trunks({"TRUNK", "POOL:LISTENER", "LOCAL", "GATEWAY", "REMOTE",
                "CONFIGURATION", "ENABLED"});
  for (const v1::Trunk& trunk : t.trunks()) {
    std::string remote;
    for (const v1::Gateway& gw : t.gateways()) {
      if (gw.name() == trunk.gateway()) {
        // A gateway located by DNS SRV has no port of ours: the records
        // give it.
        remote =
            gw.dns_srv()
                ? absl::StrCat(gw.fqdn(), " (SRV)/",
                               TransportName(trunk.transport()))
                : absl::StrCat(gw.address().empty() ? gw.fqdn() : gw.address(),
                               ":", trunk.remote_port(), "/",
                               TransportName(trunk.transport()));
      }
    }
    trunks.AddRow({trunk.name(),
                   absl::StrCat(trunk.pool(), ":", trunk.listener()),
                   absl::StrCat(trunk.local_port()), trunk.gateway(), remote,
                   trunk.configuration(), trunk.enabled() ? "yes" : "no"});
  }
  trunks.Print(out);
  out << "\n";
  Table routes({"VOICE ROUTE", "PATTERN", "USAGES", "TRUNKS"});
  for (const v1::VoiceRoute& route : t.voice_routes()) {
    routes.AddRow({route.name(), route.number_pattern(),
                   absl::StrJoin(route.pstn_usages(), ","),
                   absl::StrJoin(route.trunks(), ",",
                                 [](std::string* o, const v1::RouteTrunk& rt) {
                                   absl::StrAppend(o, rt.trunk(), "(p",
                                                   rt.priority(), ",w",
                                                   rt.weight(), ")");
                                 })});
  }
  routes.Print(out);
  return kExitOk;
}

}  // namespace trunkline::trunkctl
