#include "services/common/topology/validator.h"

#include <arpa/inet.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "re2/re2.h"
#include "services/common/topology/lookup.h"
#include "services/common/topology/number_rule.h"

namespace trunkline {
namespace {

using v1::Topology;

constexpr uint32_t kMinSessionExpires = 90;  // RFC 4028 section 4.
constexpr uint32_t kMinKeepaliveInterval = 5;
constexpr uint32_t kMinRegistrationExpires = 60;

std::string Quote(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

std::string Path(absl::string_view list, int index) {
  return absl::StrCat(list, "[", index, "]");
}

class Validator {
 public:
  Validator(const Topology& topology, const SourceMap& source_map)
      : t_(topology), map_(source_map) {}

  std::vector<SourceError> Run() {
    CollectNames();
    CheckSites();
    CheckPools();
    CheckGateways();
    CheckTrunkConfigurations();
    CheckCredentials();
    CheckTrunks();
    CheckDialPlans();
    CheckVoicePolicies();
    CheckPolicyAssignments();
    CheckVoiceRoutes();
    CheckUcSide();
    return std::move(errors_);
  }

 private:
  // --- plumbing --------------------------------------------------------

  void Error(const std::string& path, std::string message) {
    errors_.push_back({map_.LineOf(path), std::move(message)});
  }

  // Records names of one kind; reports empty and duplicate names.
  template <typename List>
  std::set<std::string> Names(const List& list, absl::string_view kind,
                              absl::string_view path) {
    std::set<std::string> names;
    std::map<std::string, int> first_index;
    for (int i = 0; i < list.size(); ++i) {
      const std::string& name = list[i].name();
      const std::string item = Path(path, i);
      if (name.empty()) {
        Error(item, absl::StrCat(kind, " #", i + 1, ": name is required"));
        continue;
      }
      auto [it, inserted] = first_index.emplace(name, i);
      if (!inserted) {
        Error(item + ".name",
              absl::StrCat(kind, " ", Quote(name),
                           " is defined twice (first at line ",
                           map_.LineOf(Path(path, it->second)), ")"));
      }
      names.insert(name);
    }
    return names;
  }

  void CollectNames() {
    sites_ = Names(t_.sites(), "site", "sites");
    pools_ = Names(t_.pools(), "pool", "pools");
    gateways_ = Names(t_.gateways(), "gateway", "gateways");
    trunks_ = Names(t_.trunks(), "trunk", "trunks");
    configurations_ = Names(t_.trunk_configurations(), "trunk configuration",
                            "trunk_configurations");
    dial_plans_ = Names(t_.dial_plans(), "dial plan", "dial_plans");
    policies_ = Names(t_.voice_policies(), "voice policy", "voice_policies");
    usages_ = Names(t_.pstn_usages(), "PSTN usage", "pstn_usages");
    routes_ = Names(t_.voice_routes(), "voice route", "voice_routes");
    credentials_ = Names(t_.credentials(), "credential", "credentials");
  }

  bool RequireRef(const std::set<std::string>& names, const std::string& value,
                  const std::string& path, absl::string_view owner,
                  absl::string_view field, absl::string_view kind,
                  bool required) {
    if (value.empty()) {
      if (required) {
        Error(path, absl::StrCat(owner, ": ", field, " is required"));
      }
      return false;
    }
    if (names.count(value) == 0) {
      Error(path, absl::StrCat(owner, ": ", kind, " ", Quote(value),
                               " is not defined"));
      return false;
    }
    return true;
  }

  // Compiles `pattern`; reports errors. Returns nullptr when it does not
  // compile.
  std::unique_ptr<RE2> Pattern(const std::string& pattern,
                               const std::string& path, absl::string_view owner,
                               absl::string_view field) {
    if (pattern.empty()) {
      Error(path, absl::StrCat(owner, ": ", field, " is required"));
      return nullptr;
    }
    auto re = std::make_unique<RE2>(pattern, TopologyRe2Options());
    if (!re->ok()) {
      Error(path, absl::StrCat(owner, ": ", field, " ", Quote(pattern),
                               " is not a valid RE2 pattern: ", re->error()));
      return nullptr;
    }
    return re;
  }

  void Rule(const std::string& pattern, const std::string& translation,
            const std::string& path, absl::string_view owner) {
    std::unique_ptr<RE2> re =
        Pattern(pattern, path + ".pattern", owner, "pattern");
    if (re == nullptr) return;
    absl::Status status = CheckTranslation(*re, translation);
    if (!status.ok()) {
      Error(path + ".translation", absl::StrCat(owner, ": ", status.message()));
    }
  }

  void Port(uint32_t port, const std::string& path, absl::string_view owner,
            absl::string_view field) {
    if (port > 65535) {
      Error(path, absl::StrCat(owner, ": ", field, " ", port,
                               " is not a port (1 to 65535)"));
    }
  }

  void Site(const std::string& site, const std::string& path,
            absl::string_view owner) {
    if (!site.empty())
      RequireRef(sites_, site, path, owner, "site", "site", false);
  }

  // --- objects ----------------------------------------------------------

  void CheckSites() {}

  void CheckPools() {
    for (int i = 0; i < t_.pools_size(); ++i) {
      const v1::Pool& pool = t_.pools(i);
      const std::string path = Path("pools", i);
      const std::string owner = absl::StrCat("pool ", Quote(pool.name()));
      Site(pool.site(), path + ".site", owner);
      if (pool.listeners_size() == 0) {
        Error(path, absl::StrCat(owner, ": at least one listener is required"));
      }
      std::set<std::string> names;
      for (int j = 0; j < pool.listeners_size(); ++j) {
        const v1::Listener& listener = pool.listeners(j);
        const std::string lpath = Path(path + ".listeners", j);
        const std::string lowner =
            absl::StrCat(owner, " listener ", Quote(listener.name()));
        if (listener.name().empty()) {
          Error(lpath, absl::StrCat(owner, ": listener #", j + 1,
                                    ": name is required"));
        } else if (!names.insert(listener.name()).second) {
          Error(lpath + ".name", absl::StrCat(lowner, " is defined twice"));
        }
        if (!IsIpAddress(listener.address())) {
          Error(lpath + ".address",
                absl::StrCat(lowner, ": address ", Quote(listener.address()),
                             " is not an IPv4 or IPv6 address"));
        }
        const bool wildcard =
            listener.address() == "0.0.0.0" || listener.address() == "::";
        if (!listener.advertised_address().empty() &&
            !IsIpAddress(listener.advertised_address()) &&
            !IsHostName(listener.advertised_address())) {
          Error(lpath + ".advertised_address",
                absl::StrCat(lowner, ": advertised address ",
                             Quote(listener.advertised_address()),
                             " is not an address or host name"));
        } else if (wildcard && listener.advertised_address().empty()) {
          Error(lpath + ".address",
                absl::StrCat(lowner,
                             ": a wildcard address needs an "
                             "advertisedAddress for Contact and SDP"));
        }
        Port(listener.port(), lpath + ".port", lowner, "port");
        bool tls = false;
        for (int k = 0; k < listener.transports_size(); ++k) {
          if (listener.transports(k) == v1::TRANSPORT_UNSPECIFIED) {
            Error(Path(lpath + ".transports", k),
                  absl::StrCat(lowner, ": transport must be udp, tcp or tls"));
          }
          tls |= listener.transports(k) == v1::TRANSPORT_TLS;
        }
        if (tls && (listener.tls().certificate_file().empty() ||
                    listener.tls().private_key_file().empty())) {
          Error(lpath + ".transports",
                absl::StrCat(lowner,
                             ": TLS needs tls.certificateFile and "
                             "tls.privateKeyFile"));
        }
      }
    }
  }

  void CheckGateways() {
    for (int i = 0; i < t_.gateways_size(); ++i) {
      const v1::Gateway& gw = t_.gateways(i);
      const std::string path = Path("gateways", i);
      const std::string owner = absl::StrCat("gateway ", Quote(gw.name()));
      if (gw.kind() == v1::GATEWAY_KIND_UNSPECIFIED) {
        Error(path, absl::StrCat(owner,
                                 ": kind is required (pstn_gateway, "
                                 "ip_pbx, itsp or uc_front_end)"));
      }
      if (gw.fqdn().empty() && gw.address().empty()) {
        Error(path, absl::StrCat(owner, ": fqdn or address is required"));
      }
      if (!gw.fqdn().empty() && !IsHostName(gw.fqdn())) {
        Error(path + ".fqdn", absl::StrCat(owner, ": fqdn ", Quote(gw.fqdn()),
                                           " is not a valid host name"));
      }
      if (!gw.address().empty() && !IsIpAddress(gw.address())) {
        Error(path + ".address",
              absl::StrCat(owner, ": address ", Quote(gw.address()),
                           " is not an IPv4 or IPv6 address"));
      }
      Port(gw.port(), path + ".port", owner, "port");
      if (gw.dns_srv()) {
        if (gw.fqdn().empty() || !gw.address().empty()) {
          Error(path + ".dns_srv",
                absl::StrCat(owner,
                             ": dnsSrv locates the gateway by its fqdn: give "
                             "fqdn and no address"));
        }
        if (gw.port() != 0) {
          Error(path + ".port",
                absl::StrCat(owner,
                             ": with dnsSrv the SRV records give the port: "
                             "remove port (or dnsSrv)"));
        }
      }
      if (gw.tls().sips_uri() && gw.transport() != v1::TRANSPORT_TLS) {
        Error(path + ".tls.sips_uri",
              absl::StrCat(owner, ": tls.sipsUri needs transport tls"));
      }
      Site(gw.site(), path + ".site", owner);
      for (int k = 0; k < gw.trusted_sources_size(); ++k) {
        std::string source = gw.trusted_sources(k);
        size_t slash = source.find('/');
        int prefix = -1;
        if (slash != std::string::npos) {
          if (!absl::SimpleAtoi(source.substr(slash + 1), &prefix))
            prefix = 999;
          source.resize(slash);
        }
        const int max_prefix = source.find(':') == std::string::npos ? 32 : 128;
        if (!IsIpAddress(source) || prefix > max_prefix) {
          Error(Path(path + ".trusted_sources", k),
                absl::StrCat(owner, ": trusted source ",
                             Quote(gw.trusted_sources(k)),
                             " is not an address or CIDR range"));
        }
      }
    }
  }

  void CheckTrunkConfigurations() {
    for (int i = 0; i < t_.trunk_configurations_size(); ++i) {
      const v1::TrunkConfiguration& c = t_.trunk_configurations(i);
      const std::string path = Path("trunk_configurations", i);
      const std::string owner =
          absl::StrCat("trunk configuration ", Quote(c.name()));
      const v1::SessionTimer& st = c.session_timer();
      if (st.min_se_seconds() != 0 &&
          st.min_se_seconds() < kMinSessionExpires) {
        Error(path + ".session_timer.min_se_seconds",
              absl::StrCat(owner, ": sessionTimer.minSeSeconds ",
                           st.min_se_seconds(),
                           " is below 90, the least RFC 4028 allows"));
      }
      const uint32_t min_se =
          st.min_se_seconds() ? st.min_se_seconds() : kMinSessionExpires;
      if (st.session_expires_seconds() != 0 &&
          st.session_expires_seconds() < min_se) {
        Error(path + ".session_timer.session_expires_seconds",
              absl::StrCat(owner, ": sessionTimer.sessionExpiresSeconds ",
                           st.session_expires_seconds(), " is below Min-SE ",
                           min_se));
      }
      for (int k = 0; k < c.failover_response_codes_size(); ++k) {
        uint32_t code = c.failover_response_codes(k);
        if (code < 400 || code > 699) {
          Error(Path(path + ".failover_response_codes", k),
                absl::StrCat(owner, ": failover response code ", code,
                             " is not a final error response (400 to 699)"));
        }
      }
      for (int k = 0; k < c.response_code_translation_rules_size(); ++k) {
        const auto& rule = c.response_code_translation_rules(k);
        const std::string rpath =
            Path(path + ".response_code_translation_rules", k);
        for (uint32_t code : {rule.received_code(), rule.translated_code()}) {
          if (code < 400 || code > 699) {
            Error(rpath, absl::StrCat(owner, ": response code translation ",
                                      rule.received_code(), " -> ",
                                      rule.translated_code(),
                                      ": codes must be 400 to 699"));
            break;
          }
        }
      }
      for (int k = 0; k < c.outbound_called_number_rules_size(); ++k) {
        const auto& rule = c.outbound_called_number_rules(k);
        Rule(rule.pattern(), rule.translation(),
             Path(path + ".outbound_called_number_rules", k),
             absl::StrCat(owner, " called-number rule ", Quote(rule.name())));
      }
      for (int k = 0; k < c.outbound_calling_number_rules_size(); ++k) {
        const auto& rule = c.outbound_calling_number_rules(k);
        Rule(rule.pattern(), rule.translation(),
             Path(path + ".outbound_calling_number_rules", k),
             absl::StrCat(owner, " calling-number rule ", Quote(rule.name())));
      }
      for (int k = 0; k < c.pstn_usages_size(); ++k) {
        RequireRef(usages_, c.pstn_usages(k), Path(path + ".pstn_usages", k),
                   owner, "pstnUsages", "PSTN usage", false);
      }
      const v1::KeepaliveSettings& ka = c.keepalive();
      if (ka.interval_seconds() != 0 &&
          ka.interval_seconds() < kMinKeepaliveInterval) {
        Error(path + ".keepalive.interval_seconds",
              absl::StrCat(owner, ": keepalive.intervalSeconds ",
                           ka.interval_seconds(), " is below 5"));
      }
      const v1::RegistrationSettings& reg = c.registration();
      if (reg.expires_seconds() != 0 &&
          reg.expires_seconds() < kMinRegistrationExpires) {
        Error(path + ".registration.expires_seconds",
              absl::StrCat(owner, ": registration.expiresSeconds ",
                           reg.expires_seconds(), " is below 60"));
      }
      if (reg.enabled() && c.credentials().empty()) {
        Error(path + ".registration",
              absl::StrCat(owner, ": registration needs credentials"));
      }
      RequireRef(credentials_, c.credentials(), path + ".credentials", owner,
                 "credentials", "credential", false);
    }
  }

  void CheckCredentials() {
    for (int i = 0; i < t_.credentials_size(); ++i) {
      const v1::Credential& c = t_.credentials(i);
      const std::string owner = absl::StrCat("credential ", Quote(c.name()));
      if (c.username().empty()) {
        Error(Path("credentials", i),
              absl::StrCat(owner, ": username is required"));
      }
      if (c.password_file().empty()) {
        Error(Path("credentials", i),
              absl::StrCat(owner, ": passwordFile is required"));
      }
    }
  }

  void CheckTrunks() {
    // (pool, listener, local port, gateway, remote port): Lync refuses two
    // trunks that would be the same SIP association.
    std::map<
        std::tuple<std::string, std::string, uint32_t, std::string, uint32_t>,
        std::string>
        associations;
    for (int i = 0; i < t_.trunks_size(); ++i) {
      const v1::Trunk& trunk = t_.trunks(i);
      const std::string path = Path("trunks", i);
      const std::string owner = absl::StrCat("trunk ", Quote(trunk.name()));
      const bool pool_ok = RequireRef(pools_, trunk.pool(), path + ".pool",
                                      owner, "pool", "pool", true);
      const bool gateway_ok =
          RequireRef(gateways_, trunk.gateway(), path + ".gateway", owner,
                     "gateway", "gateway", true);
      if (!trunk.configuration().empty()) {
        RequireRef(configurations_, trunk.configuration(),
                   path + ".configuration", owner, "configuration",
                   "trunk configuration", false);
      }
      if (!trunk.dial_plan().empty() &&
          RequireRef(dial_plans_, trunk.dial_plan(), path + ".dial_plan", owner,
                     "dialPlan", "dial plan", false)) {
        for (const auto& dp : t_.dial_plans()) {
          if (dp.name() == trunk.dial_plan() &&
              dp.scope() != v1::DIAL_PLAN_SCOPE_TRUNK &&
              dp.scope() != v1::DIAL_PLAN_SCOPE_GLOBAL) {
            Error(path + ".dial_plan",
                  absl::StrCat(owner, ": dial plan ", Quote(dp.name()),
                               " has neither trunk nor global scope"));
          }
        }
      }
      Port(trunk.local_port(), path + ".local_port", owner, "localPort");
      Port(trunk.remote_port(), path + ".remote_port", owner, "remotePort");
      const v1::Pool* pool = pool_ok ? FindPool(t_, trunk.pool()) : nullptr;
      const v1::Gateway* gw =
          gateway_ok ? FindGateway(t_, trunk.gateway()) : nullptr;
      if (gw != nullptr && gw->dns_srv() && trunk.remote_port() != 0) {
        Error(path + ".remote_port",
              absl::StrCat(owner, ": gateway ", Quote(gw->name()),
                           " is located by dnsSrv, whose records give the "
                           "port: remove remotePort"));
      }
      const v1::Listener* listener =
          pool ? FindListener(*pool, trunk.listener()) : nullptr;
      if (pool && !listener && !trunk.listener().empty()) {
        Error(path + ".listener",
              absl::StrCat(owner, ": pool ", Quote(pool->name()),
                           " has no listener ", Quote(trunk.listener())));
      }
      if (gw && gw->tls().sips_uri() &&
          trunk.transport() != v1::TRANSPORT_UNSPECIFIED &&
          trunk.transport() != v1::TRANSPORT_TLS) {
        Error(path + ".transport",
              absl::StrCat(owner, ": gateway ", Quote(gw->name()),
                           " takes sips: URIs (tls.sipsUri), which need "
                           "transport tls"));
      }
      if (gw && gw->kind() == v1::GATEWAY_KIND_UC_FRONT_END) {
        Error(
            path + ".gateway",
            absl::StrCat(owner, ": gateway ", Quote(gw->name()),
                         " is a UC front end; list it under ucSide.nextHops"));
      }
      if (gw && listener && gw->kind() == v1::GATEWAY_KIND_ITSP) {
        const std::string& advertised = listener->advertised_address().empty()
                                            ? listener->address()
                                            : listener->advertised_address();
        if (IsIpAddress(advertised) && IsPrivateAddress(advertised)) {
          Error(
              path + ".listener",
              absl::StrCat(owner, ": trunk to ITSP ", Quote(gw->name()),
                           " would advertise the private address ", advertised,
                           "; use a listener with a public "
                           "advertisedAddress"));
        }
      }
      if (gw && listener) {
        const uint32_t local =
            trunk.local_port() ? trunk.local_port() : listener->port();
        const uint32_t remote =
            trunk.remote_port() ? trunk.remote_port() : gw->port();
        auto key = std::make_tuple(pool->name(), listener->name(), local,
                                   gw->name(), remote);
        auto [it, inserted] = associations.emplace(key, trunk.name());
        if (!inserted) {
          Error(path, absl::StrCat(owner,
                                   ": same pool, listener, ports and "
                                   "gateway as trunk ",
                                   Quote(it->second)));
        }
      }
    }
  }

  void CheckDialPlans() {
    for (int i = 0; i < t_.dial_plans_size(); ++i) {
      const v1::DialPlan& dp = t_.dial_plans(i);
      const std::string path = Path("dial_plans", i);
      const std::string owner = absl::StrCat("dial plan ", Quote(dp.name()));
      switch (dp.scope()) {
        case v1::DIAL_PLAN_SCOPE_UNSPECIFIED:
          Error(path, absl::StrCat(owner,
                                   ": scope is required (global, site, "
                                   "pool, trunk or user)"));
          break;
        case v1::DIAL_PLAN_SCOPE_SITE:
          RequireRef(sites_, dp.target(), path + ".target", owner, "target",
                     "site", true);
          break;
        case v1::DIAL_PLAN_SCOPE_POOL:
          RequireRef(pools_, dp.target(), path + ".target", owner, "target",
                     "pool", true);
          break;
        case v1::DIAL_PLAN_SCOPE_TRUNK:
          RequireRef(trunks_, dp.target(), path + ".target", owner, "target",
                     "trunk", true);
          break;
        default:
          if (!dp.target().empty()) {
            Error(
                path + ".target",
                absl::StrCat(owner, ": a ",
                             dp.scope() == v1::DIAL_PLAN_SCOPE_GLOBAL ? "global"
                                                                      : "user",
                             " dial plan has no target"));
          }
      }
      for (int k = 0; k < dp.normalization_rules_size(); ++k) {
        const auto& rule = dp.normalization_rules(k);
        Rule(rule.pattern(), rule.translation(),
             Path(path + ".normalization_rules", k),
             absl::StrCat(owner, " rule ", Quote(rule.name())));
      }
    }
  }

  void CheckVoicePolicies() {
    for (int i = 0; i < t_.voice_policies_size(); ++i) {
      const v1::VoicePolicy& vp = t_.voice_policies(i);
      const std::string path = Path("voice_policies", i);
      const std::string owner = absl::StrCat("voice policy ", Quote(vp.name()));
      for (int k = 0; k < vp.pstn_usages_size(); ++k) {
        RequireRef(usages_, vp.pstn_usages(k), Path(path + ".pstn_usages", k),
                   owner, "pstnUsages", "PSTN usage", false);
      }
      if (vp.caller_id().mode() == v1::CALLER_ID_MODE_SERVICE_NUMBER &&
          vp.caller_id().service_number().empty()) {
        Error(path + ".caller_id",
              absl::StrCat(owner,
                           ": callerId mode service_number needs "
                           "serviceNumber"));
      }
    }
  }

  void CheckPolicyAssignments() {
    for (int i = 0; i < t_.policy_assignments_size(); ++i) {
      const v1::PolicyAssignment& pa = t_.policy_assignments(i);
      const std::string path = Path("policy_assignments", i);
      const std::string owner = absl::StrCat("policy assignment #", i + 1);
      if (pa.number_pattern().empty() && pa.uri_pattern().empty()) {
        Error(path, absl::StrCat(owner,
                                 ": numberPattern or uriPattern is "
                                 "required"));
      }
      if (!pa.number_pattern().empty()) {
        Pattern(pa.number_pattern(), path + ".number_pattern", owner,
                "numberPattern");
      }
      if (!pa.uri_pattern().empty()) {
        Pattern(pa.uri_pattern(), path + ".uri_pattern", owner, "uriPattern");
      }
      RequireRef(policies_, pa.voice_policy(), path + ".voice_policy", owner,
                 "voicePolicy", "voice policy", true);
      if (RequireRef(dial_plans_, pa.dial_plan(), path + ".dial_plan", owner,
                     "dialPlan", "dial plan", false)) {
        for (const auto& dp : t_.dial_plans()) {
          if (dp.name() == pa.dial_plan() &&
              dp.scope() != v1::DIAL_PLAN_SCOPE_USER) {
            Error(path + ".dial_plan",
                  absl::StrCat(owner, ": dial plan ", Quote(dp.name()),
                               " is not user-scoped"));
          }
        }
      }
      RequireRef(pools_, pa.pool(), path + ".pool", owner, "pool", "pool",
                 false);
    }
  }

  void CheckVoiceRoutes() {
    for (int i = 0; i < t_.voice_routes_size(); ++i) {
      const v1::VoiceRoute& route = t_.voice_routes(i);
      const std::string path = Path("voice_routes", i);
      const std::string owner =
          absl::StrCat("voice route ", Quote(route.name()));
      Pattern(route.number_pattern(), path + ".number_pattern", owner,
              "numberPattern");
      for (int k = 0; k < route.exceptions_size(); ++k) {
        Pattern(route.exceptions(k), Path(path + ".exceptions", k), owner,
                "exception");
      }
      if (route.pstn_usages_size() == 0) {
        Error(path,
              absl::StrCat(owner, ": at least one PSTN usage is required"));
      }
      for (int k = 0; k < route.pstn_usages_size(); ++k) {
        RequireRef(usages_, route.pstn_usages(k),
                   Path(path + ".pstn_usages", k), owner, "pstnUsages",
                   "PSTN usage", false);
      }
      if (route.trunks_size() == 0) {
        Error(path, absl::StrCat(owner, ": at least one trunk is required"));
      }
      std::set<std::string> seen;
      for (int k = 0; k < route.trunks_size(); ++k) {
        const std::string& trunk = route.trunks(k).trunk();
        const std::string tpath = Path(path + ".trunks", k);
        if (RequireRef(trunks_, trunk, tpath + ".trunk", owner, "trunks.trunk",
                       "trunk", true) &&
            !seen.insert(trunk).second) {
          Error(tpath, absl::StrCat(owner, ": trunk ", Quote(trunk),
                                    " is listed twice"));
        }
      }
      for (int k = 0; k < route.allowed_sites_size(); ++k) {
        RequireRef(sites_, route.allowed_sites(k),
                   Path(path + ".allowed_sites", k), owner, "allowedSites",
                   "site", false);
      }
      if (!route.alternate_caller_id().empty() && !route.suppress_caller_id()) {
        Error(path + ".alternate_caller_id",
              absl::StrCat(owner,
                           ": alternateCallerId is only used with "
                           "suppressCallerId: true"));
      }
    }
  }

  void CheckUcSide() {
    const v1::UcSide& uc = t_.uc_side();
    if (uc.keepalive().interval_seconds() != 0 &&
        uc.keepalive().interval_seconds() < kMinKeepaliveInterval) {
      Error("uc_side.keepalive.interval_seconds",
            absl::StrCat("ucSide: keepalive.intervalSeconds ",
                         uc.keepalive().interval_seconds(), " is below 5"));
    }
    for (int i = 0; i < uc.next_hops_size(); ++i) {
      const v1::UcNextHop& hop = uc.next_hops(i);
      const std::string path = Path("uc_side.next_hops", i);
      const std::string owner = absl::StrCat("UC next hop #", i + 1);
      if (RequireRef(gateways_, hop.gateway(), path + ".gateway", owner,
                     "gateway", "gateway", true)) {
        const v1::Gateway* gw = FindGateway(t_, hop.gateway());
        if (gw->kind() != v1::GATEWAY_KIND_UC_FRONT_END) {
          Error(path + ".gateway",
                absl::StrCat(owner, ": gateway ", Quote(gw->name()),
                             " is not of kind uc_front_end"));
        }
      }
      if (RequireRef(pools_, hop.pool(), path + ".pool", owner, "pool", "pool",
                     t_.pools_size() != 1)) {
        const v1::Pool* pool = FindPool(t_, hop.pool());
        if (!hop.listener().empty() && !FindListener(*pool, hop.listener())) {
          Error(path + ".listener",
                absl::StrCat(owner, ": pool ", Quote(pool->name()),
                             " has no listener ", Quote(hop.listener())));
        }
      }
    }
    for (int i = 0; i < uc.number_ranges_size(); ++i) {
      const v1::NumberRange& range = uc.number_ranges(i);
      const std::string path = Path("uc_side.number_ranges", i);
      const std::string owner = absl::StrCat("UC number range #", i + 1);
      const bool has_bounds = !range.first().empty() || !range.last().empty();
      if (range.pattern().empty() == !has_bounds) {
        Error(path, absl::StrCat(owner,
                                 ": give either pattern or first and "
                                 "last"));
        continue;
      }
      if (!range.pattern().empty()) {
        Pattern(range.pattern(), path + ".pattern", owner, "pattern");
        continue;
      }
      auto digits = [](const std::string& s) {
        absl::string_view v = s;
        if (!v.empty() && v[0] == '+') v.remove_prefix(1);
        if (v.empty()) return false;
        for (char c : v) {
          if (!absl::ascii_isdigit(c)) return false;
        }
        return true;
      };
      if (!digits(range.first()) || !digits(range.last()) ||
          range.first().size() != range.last().size() ||
          range.first() > range.last()) {
        Error(path, absl::StrCat(owner, ": first ", Quote(range.first()),
                                 " and last ", Quote(range.last()),
                                 " must be numbers of the same length, first "
                                 "<= last"));
      }
    }
  }

  const Topology& t_;
  const SourceMap& map_;
  std::vector<SourceError> errors_;
  std::set<std::string> sites_, pools_, gateways_, trunks_, configurations_,
      dial_plans_, policies_, usages_, routes_, credentials_;
};

}  // namespace

bool IsIpAddress(absl::string_view text) {
  std::string s(text);
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool IsPrivateAddress(absl::string_view ip) {
  std::string s(ip);
  unsigned char b[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, s.c_str(), b) == 1) {
    return b[0] == 10 || b[0] == 127 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
           (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) ||
           (b[0] == 100 && (b[1] & 0xc0) == 64) || b[0] == 0;
  }
  if (inet_pton(AF_INET6, s.c_str(), b) == 1) {
    static const unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                0, 0, 0, 0, 0, 0, 0, 1};
    return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||
           std::equal(b, b + 16, kLoopback);
  }
  return false;
}

bool IsHostName(absl::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (label == 0 || text[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    if (!absl::ascii_isalnum(c) && c != '-') return false;
    if (c == '-' && label == 0) return false;
    if (++label > 63) return false;
  }
  return text.back() != '-';
}

std::vector<SourceError> ValidateTopology(const v1::Topology& topology,
                                          const SourceMap& source_map) {
  return Validator(topology, source_map).Run();
}

}  // namespace trunkline
