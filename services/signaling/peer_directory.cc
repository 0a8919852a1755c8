#include "services/signaling/peer_directory.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/status_macros.h"
#include "services/signaling/call_plan.h"
#include "services/signaling/srv_lookup.h"

namespace trunkline::signaling {
namespace {

int ParseAddress(const std::string& text, unsigned char* out) {
  if (inet_pton(AF_INET, text.c_str(), out) == 1) return AF_INET;
  if (inet_pton(AF_INET6, text.c_str(), out) == 1) return AF_INET6;
  return 0;
}

// The name a gateway's TLS certificate carries, both ways: its
// `tls.peerName`, else its FQDN; "" when it has neither.
// The port requests to gateway `g` name: the trunk's own (`trunk_port`, 0:
// none), else the gateway's, else SIP's default for the transport; 0 for a
// gateway located by DNS SRV, whose records give it.
uint32_t RemotePort(const v1::Gateway& g, uint32_t trunk_port,
                    v1::Transport transport) {
  if (g.dns_srv()) return 0;
  if (trunk_port != 0) return trunk_port;
  if (g.port() != 0) return g.port();
  return transport == v1::TRANSPORT_TLS ? 5061 : 5060;
}

std::string CertificateName(const v1::Gateway& g) {
  return !g.tls().peer_name().empty() ? g.tls().peer_name() : g.fqdn();
}

const v1::Gateway* FindGateway(const v1::Topology& t, const std::string& n) {
  for (const v1::Gateway& g : t.gateways()) {
    if (g.name() == n) return &g;
  }
  return nullptr;
}

TlsSpec ListenerTls(const v1::Pool& pool, const v1::Listener& l) {
  TlsSpec tls;
  tls.certificate_file = l.tls().certificate_file();
  tls.private_key_file = l.tls().private_key_file();
  tls.ca_file = l.tls().ca_file();
  tls.verify_incoming = l.tls().require_client_certificate();
  tls.verify_outgoing = !tls.ca_file.empty();
  tls.owner =
      absl::StrCat("pool \"", pool.name(), "\" listener \"", l.name(), "\"");
  return tls;
}

// A trunk's socket: its listener's TLS settings, with what the gateway's
// own `tls` sets on top (the certificate we present to it, the CA that
// verifies it, whether it must present a certificate to us).
TlsSpec TrunkTls(const v1::Pool& pool, const v1::Listener& l,
                 const v1::Trunk& t, const v1::Gateway& g) {
  TlsSpec tls = ListenerTls(pool, l);
  const v1::TlsSettings& gw = g.tls();
  bool own = false;
  if (!gw.certificate_file().empty()) {
    tls.certificate_file = gw.certificate_file();
    tls.private_key_file = gw.private_key_file().empty()
                               ? gw.certificate_file()
                               : gw.private_key_file();
    own = true;
  }
  if (!gw.ca_file().empty()) {
    tls.ca_file = gw.ca_file();
    tls.verify_outgoing = true;
    own = true;
  }
  if (gw.require_client_certificate()) {
    tls.verify_incoming = true;
    own = true;
  }
  if (own) tls.owner = absl::StrCat("trunk \"", t.name(), "\"");
  return tls;
}

// Sofia-SIP 1.12.11 cannot set a TLS version floor per socket; the system's
// OpenSSL (Debian 12) accepts TLS 1.2 and 1.3 and nothing older.
absl::Status CheckMinVersion(const v1::TlsSettings& tls,
                             const std::string& owner) {
  const std::string& v = tls.min_version();
  if (v.empty() || v == "1.2") return absl::OkStatus();
  if (v == "1.3") {
    return absl::UnimplementedError(absl::StrCat(
        owner,
        ": tls.minVersion 1.3 cannot be enforced (Sofia-SIP sets no TLS "
        "version floor per socket; OpenSSL accepts TLS 1.2 and 1.3): use "
        "1.2 or leave it out"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(owner, ": tls.minVersion \"", v, "\" is not 1.2 or 1.3"));
}

bool SameName(const std::string& a, const std::string& b) {
  return absl::EqualsIgnoreCase(a, b);
}

}  // namespace

absl::StatusOr<AddressRange> AddressRange::Parse(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  AddressRange range;
  range.family_ = ParseAddress(parts[0], range.bytes_);
  if (range.family_ == 0 || parts.size() > 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text,
        "\" is not an IP address or CIDR range (e.g. 10.0.0.0/24)"));
  }
  const int max_bits = range.family_ == AF_INET ? 32 : 128;
  range.prefix_bits_ = max_bits;
  if (parts.size() == 2 &&
      (!absl::SimpleAtoi(parts[1], &range.prefix_bits_) ||
       range.prefix_bits_ < 0 || range.prefix_bits_ > max_bits)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\": prefix length must be 0..", max_bits));
  }
  return range;
}

bool AddressRange::Contains(const std::string& address) const {
  unsigned char bytes[16] = {};
  if (ParseAddress(address, bytes) != family_) return false;
  const int full = prefix_bits_ / 8;
  if (std::memcmp(bytes, bytes_, full) != 0) return false;
  const int rest = prefix_bits_ % 8;
  if (rest == 0) return true;
  const unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (bytes[full] & mask) == (bytes_[full] & mask);
}

absl::StatusOr<std::unique_ptr<PeerDirectory>> PeerDirectory::Create(
    const v1::Topology& topology, const std::string& pool_name) {
  const v1::Pool* pool = nullptr;
  for (const v1::Pool& p : topology.pools()) {
    if (pool_name.empty() || p.name() == pool_name) {
      pool = &p;
      break;
    }
  }
  if (pool == nullptr) {
    return absl::NotFoundError(
        pool_name.empty() ? std::string("the topology has no pool to serve")
                          : absl::StrCat("pool \"", pool_name,
                                         "\" (--pool) is not in the topology"));
  }
  auto dir = std::unique_ptr<PeerDirectory>(new PeerDirectory());
  dir->pool_ = pool->name();
  dir->credentials_ = CredentialStore::FromTopology(topology, &dir->problems_);

  auto add_specs = [&](const v1::Listener& l, uint32_t port,
                       const TlsSpec& tls) -> absl::Status {
    for (int t : l.transports()) {
      if (t != v1::TRANSPORT_UDP && t != v1::TRANSPORT_TCP &&
          t != v1::TRANSPORT_TLS) {
        continue;
      }
      ListenSpec spec;
      spec.address = l.address();
      spec.advertised =
          l.advertised_address().empty() ? l.address() : l.advertised_address();
      spec.port = port;
      spec.transport = static_cast<v1::Transport>(t);
      if (t == v1::TRANSPORT_TLS) {
        spec.tls = tls;
        if (tls.verify_incoming && tls.ca_file.empty()) {
          return absl::FailedPreconditionError(absl::StrCat(
              tls.owner,
              ": tls.requireClientCertificate needs tls.caFile (the CAs "
              "that sign the peers' certificates)"));
        }
      }
      auto same = std::find_if(
          dir->specs_.begin(), dir->specs_.end(), [&](const ListenSpec& o) {
            return o.address == spec.address &&
                   o.advertised == spec.advertised && o.port == spec.port &&
                   o.transport == spec.transport;
          });
      if (same == dir->specs_.end()) {
        // Sockets are found by port and transport (our Contact, the socket
        // a request to a trunk leaves from): one socket per pair.
        auto clash = std::find_if(
            dir->specs_.begin(), dir->specs_.end(), [&](const ListenSpec& o) {
              return o.port == spec.port && o.transport == spec.transport;
            });
        if (clash != dir->specs_.end()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "pool \"", pool->name(), "\" listener \"", l.name(), "\": port ",
              port, "/",
              absl::AsciiStrToLower(
                  v1::Transport_Name(spec.transport).substr(10)),
              " is already used on ", clash->address, " (advertised ",
              clash->advertised,
              "); signaling tells its sockets apart by port and transport: "
              "give each address its own port"));
        }
        dir->specs_.push_back(spec);
      } else if (!(same->tls == spec.tls)) {
        return absl::FailedPreconditionError(
            absl::StrCat(spec.tls.owner, " and ", same->tls.owner,
                         " ask for different TLS settings on the same socket ",
                         UriHost(spec.address), ":", port,
                         "/tls: give the trunk its own localPort"));
      }
    }
    return absl::OkStatus();
  };
  for (const v1::Listener& l : pool->listeners()) {
    RETURN_IF_ERROR(CheckMinVersion(
        l.tls(), absl::StrCat("pool \"", pool->name(), "\" listener \"",
                              l.name(), "\"")));
    RETURN_IF_ERROR(add_specs(l, l.port(), ListenerTls(*pool, l)));
  }

  // `transport`: how we reach the peer; `limit`: its trunk's call limit.
  auto add_peer = [&](const v1::Gateway& g, const std::string& trunk,
                      uint32_t local_port, v1::Transport transport,
                      uint32_t limit) -> absl::Status {
    Entry e;
    e.peer = PeerMatch{trunk, g.name(), limit};
    e.local_port = local_port;
    e.tls_only = transport == v1::TRANSPORT_TLS;
    std::vector<std::string> sources(g.trusted_sources().begin(),
                                     g.trusted_sources().end());
    if (!g.address().empty()) sources.push_back(g.address());
    if (g.address().empty()) {
      // Located by SRV: trusted from the records' targets for the transport
      // requests to it use (HostResolver looks up such a name's SRV).
      e.resolve_name = g.dns_srv() ? SrvName(g.fqdn(), transport) : g.fqdn();
    }
    const std::string name = CertificateName(g);
    if (!name.empty()) e.tls_names.push_back(name);
    e.tls_identity_required =
        g.tls().require_client_certificate() && !e.tls_names.empty();
    dir->tls_names_[g.name()] = name;
    for (const std::string& s : sources) {
      absl::StatusOr<AddressRange> r = AddressRange::Parse(s);
      if (!r.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("gateway \"", g.name(), "\": ", r.status().message()));
      }
      e.sources.push_back(*r);
    }
    dir->entries_.push_back(std::move(e));
    return absl::OkStatus();
  };

  for (const v1::Trunk& t : topology.trunks()) {
    if (t.pool() != pool->name()) continue;
    const v1::Listener* listener = nullptr;
    for (const v1::Listener& l : pool->listeners()) {
      if (t.listener().empty() || l.name() == t.listener()) {
        listener = &l;
        break;
      }
    }
    const v1::Gateway* g = FindGateway(topology, t.gateway());
    if (listener == nullptr || g == nullptr)
      continue;  // the validator says why
    const uint32_t port = t.local_port() ? t.local_port() : listener->port();
    RETURN_IF_ERROR(
        CheckMinVersion(g->tls(), absl::StrCat("gateway \"", g->name(), "\"")));
    RETURN_IF_ERROR(
        add_specs(*listener, port, TrunkTls(*pool, *listener, t, *g)));
    TrunkInfo info;
    info.name = t.name();
    info.gateway = g->name();
    info.host = g->address().empty() ? g->fqdn() : g->address();
    info.transport = t.transport() != v1::TRANSPORT_UNSPECIFIED ? t.transport()
                     : g->transport() != v1::TRANSPORT_UNSPECIFIED
                         ? g->transport()
                         : v1::TRANSPORT_UDP;
    info.port = RemotePort(*g, t.remote_port(), info.transport);
    if (info.transport == v1::TRANSPORT_TLS &&
        std::find(listener->transports().begin(), listener->transports().end(),
                  v1::TRANSPORT_TLS) == listener->transports().end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("trunk \"", t.name(), "\" uses TLS but listener \"",
                       listener->name(), "\" of pool \"", pool->name(),
                       "\" does not serve tls: add tls to its transports, with "
                       "tls.certificateFile and tls.privateKeyFile"));
    }
    if (info.transport == v1::TRANSPORT_TLS) {
      info.tls_name = CertificateName(*g);
      info.sips = g->tls().sips_uri();
    }
    info.local_port = port;
    info.advertised = listener->advertised_address().empty()
                          ? listener->address()
                          : listener->advertised_address();
    info.enabled = !t.has_enabled() || t.enabled();
    const std::string config_name =
        t.configuration().empty() ? "global" : t.configuration();
    for (const v1::TrunkConfiguration& c : topology.trunk_configurations()) {
      if (c.name() != config_name) continue;
      const v1::KeepaliveSettings& ka = c.keepalive();
      info.keepalive = !ka.has_enabled() || ka.enabled();
      if (ka.interval_seconds() > 0)
        info.interval_seconds = ka.interval_seconds();
      if (ka.down_threshold() > 0) info.down_threshold = ka.down_threshold();
      info.max_concurrent_calls = c.max_concurrent_calls();
      const v1::RegistrationSettings& reg = c.registration();
      info.registration = reg.enabled();
      info.registrar_uri =
          reg.registrar_uri().empty()
              ? absl::StrCat(UriScheme(info.sips), UriHost(info.host))
              : reg.registrar_uri();
      info.aor = reg.aor();
      if (reg.expires_seconds() > 0) {
        info.register_expires_seconds = reg.expires_seconds();
      }
      info.credentials = c.credentials();
    }
    const v1::Transport transport = info.transport;
    const uint32_t limit = info.max_concurrent_calls;
    dir->trunks_.push_back(std::move(info));
    if (absl::Status s = add_peer(*g, t.name(), port, transport, limit);
        !s.ok()) {
      return s;
    }
  }
  const v1::KeepaliveSettings& uc_keepalive = topology.uc_side().keepalive();
  for (const v1::UcNextHop& hop : topology.uc_side().next_hops()) {
    if (!hop.pool().empty() && hop.pool() != pool->name()) continue;
    const v1::Gateway* g = FindGateway(topology, hop.gateway());
    if (g == nullptr) continue;
    if (absl::Status s = add_peer(*g, "", 0, g->transport(), 0); !s.ok()) {
      return s;
    }
    const v1::Listener* listener = nullptr;
    for (const v1::Listener& l : pool->listeners()) {
      if (hop.listener().empty() || l.name() == hop.listener()) {
        listener = &l;
        break;
      }
    }
    if (listener == nullptr) continue;  // the validator says why
    TrunkInfo info;
    info.name = g->name();
    info.gateway = g->name();
    info.uc_side = true;
    info.host = g->address().empty() ? g->fqdn() : g->address();
    info.transport = g->transport() != v1::TRANSPORT_UNSPECIFIED
                         ? g->transport()
                         : v1::TRANSPORT_UDP;
    info.port = RemotePort(*g, 0, info.transport);
    if (info.transport == v1::TRANSPORT_TLS) {
      info.tls_name = CertificateName(*g);
      info.sips = g->tls().sips_uri();
    }
    info.local_port = listener->port();
    info.advertised = listener->advertised_address().empty()
                          ? listener->address()
                          : listener->advertised_address();
    // Off unless the topology turns it on (KeepaliveSettings' own default
    // is on, for trunks).
    info.keepalive = uc_keepalive.enabled();
    if (uc_keepalive.interval_seconds() > 0) {
      info.interval_seconds = uc_keepalive.interval_seconds();
    }
    if (uc_keepalive.down_threshold() > 0) {
      info.down_threshold = uc_keepalive.down_threshold();
    }
    dir->uc_next_hops_.push_back(std::move(info));
  }
  return dir;
}

std::vector<TrunkInfo> PeerDirectory::monitored() const {
  std::vector<TrunkInfo> all = trunks_;
  for (const TrunkInfo& hop : uc_next_hops_) {
    // Unprobed, a next hop is nothing to watch (nor to list with trunks).
    if (hop.keepalive) all.push_back(hop);
  }
  return all;
}

std::optional<PeerMatch> PeerDirectory::Match(const std::string& address,
                                              uint32_t local_port) const {
  TransportInfo source;
  source.remote_address = address;
  source.local_port = local_port;
  return Match(source);
}

std::optional<PeerMatch> PeerDirectory::Match(
    const TransportInfo& source) const {
  const bool tls = source.transport == v1::TRANSPORT_TLS;
  // Two passes: an entry bound to the arrival port wins over one that is
  // not, so a gateway with several trunks lands on the right one.
  const Entry* loose = nullptr;
  for (const Entry& e : entries_) {
    const bool by_address = std::any_of(
        e.sources.begin(), e.sources.end(), [&](const AddressRange& r) {
          return r.Contains(source.remote_address);
        });
    const bool by_name =
        tls &&
        std::any_of(e.tls_names.begin(), e.tls_names.end(),
                    [&](const std::string& want) {
                      return std::any_of(source.tls_names.begin(),
                                         source.tls_names.end(),
                                         [&](const std::string& presented) {
                                           return SameName(want, presented);
                                         });
                    });
    // A peer we reach over TLS speaks TLS to us: its address over UDP or
    // TCP (which anyone on the path can claim with UDP) is no identity.
    if (e.tls_only && !tls) continue;
    const bool trusted =
        tls && e.tls_identity_required ? by_name : by_address || by_name;
    if (!trusted) continue;
    const uint32_t local_port = source.local_port;
    if (e.local_port == local_port) return e.peer;
    if (loose == nullptr) loose = &e;
  }
  if (loose != nullptr) return loose->peer;
  return std::nullopt;
}

std::vector<std::string> PeerDirectory::NamesToResolve() const {
  std::vector<std::string> names;
  for (const Entry& e : entries_) {
    if (!e.resolve_name.empty() &&
        std::find(names.begin(), names.end(), e.resolve_name) == names.end()) {
      names.push_back(e.resolve_name);
    }
  }
  return names;
}

std::shared_ptr<const PeerDirectory> PeerDirectory::WithResolvedNames(
    const ResolvedNames& resolved) const {
  auto copy = std::shared_ptr<PeerDirectory>(new PeerDirectory(*this));
  for (Entry& e : copy->entries_) {
    if (e.resolve_name.empty()) continue;
    auto it = resolved.find(e.resolve_name);
    if (it == resolved.end()) continue;
    for (const std::string& address : it->second) {
      if (absl::StatusOr<AddressRange> r = AddressRange::Parse(address);
          r.ok()) {
        e.sources.push_back(*r);
      }
    }
  }
  return copy;
}

std::string PeerDirectory::TlsNameOf(const std::string& gateway) const {
  auto it = tls_names_.find(gateway);
  return it == tls_names_.end() ? "" : it->second;
}

std::vector<std::string> PeerDirectory::TrunkNames() const {
  std::vector<std::string> names;
  for (const Entry& e : entries_) {
    if (!e.peer.uc_side()) names.push_back(e.peer.trunk);
  }
  return names;
}

}  // namespace trunkline::signaling
