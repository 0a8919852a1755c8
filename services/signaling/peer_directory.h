// Who may send us requests, and on which sockets we listen: both read from
// the topology for the one pool this instance serves.
//
// A request is taken only from a configured peer: a UC-side next hop of this
// pool, or the gateway of one of this pool's trunks (its address or one of
// its trusted sources, which may be CIDR ranges). The local port tells trunks
// to the same gateway apart. Over TLS a gateway may also be recognised by the
// name in the certificate it presented (its `tls.peerName`, else its FQDN),
// and one that asks for mutual TLS must present it.
#ifndef TRUNKLINE_SERVICES_SIGNALING_PEER_DIRECTORY_H_
#define TRUNKLINE_SERVICES_SIGNALING_PEER_DIRECTORY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/signaling/credential_store.h"
#include "services/signaling/host_resolver.h"
#include "services/signaling/sip_stack.h"
#include "trunkline/v1/topology.pb.h"

namespace trunkline::signaling {

// The TLS side of one socket: what it presents and whom it believes.
struct TlsSpec {
  // PEM files as the topology names them (read when the socket is bound).
  std::string certificate_file;
  std::string private_key_file;
  std::string ca_file;  // empty: no peer certificate can be verified
  // Connections the socket accepts must present a certificate that
  // `ca_file` verifies (mutual TLS).
  bool verify_incoming = false;
  // Connections it opens (to gateways) check the peer's certificate chain
  // against `ca_file`: on whenever a CA file is given.
  bool verify_outgoing = false;
  // Who asked for these settings, for error messages ("pool \"p\" listener
  // \"l\"", "trunk \"t\"").
  std::string owner;
  bool operator==(const TlsSpec& o) const {
    return certificate_file == o.certificate_file &&
           private_key_file == o.private_key_file && ca_file == o.ca_file &&
           verify_incoming == o.verify_incoming &&
           verify_outgoing == o.verify_outgoing;
  }
};

// One socket to bind: `address` locally, `advertised` in Via and Contact.
struct ListenSpec {
  std::string address;
  std::string advertised;
  uint32_t port = 0;
  v1::Transport transport = v1::TRANSPORT_UDP;
  TlsSpec tls;  // TRANSPORT_TLS only
  bool operator==(const ListenSpec& o) const {
    return address == o.address && advertised == o.advertised &&
           port == o.port && transport == o.transport && tls == o.tls;
  }
};

// One trunk of the pool as the OPTIONS keepalive and the admin API need it:
// where its gateway is, which of our sockets talks to it, and its settings.
struct TrunkInfo {
  std::string name;
  std::string gateway;
  std::string host;  // the gateway's address (or FQDN)
  uint32_t port = 5060;
  v1::Transport transport = v1::TRANSPORT_UDP;
  uint32_t local_port = 0;
  std::string advertised;  // our address in From/Contact towards it
  // The trunk configuration's keepalive (defaults already applied).
  bool keepalive = true;
  uint32_t interval_seconds = 60;
  uint32_t down_threshold = 3;
  // The topology's `enabled` (an operator may override it at run time).
  bool enabled = true;
  uint32_t max_concurrent_calls = 0;
  // Registration with an ITSP (the trunk configuration's `registration`):
  // the registrar's URI (default sip:<gateway host>), the address of record
  // and the expiry we ask for.
  bool registration = false;
  std::string registrar_uri;
  std::string aor;
  uint32_t register_expires_seconds = 3600;
  // Digest credentials answering its challenges (a Credential.name).
  std::string credentials;
  // Over TLS: the name its certificate must carry (TlsNameOf).
  std::string tls_name;
  // Over TLS to a gateway with tls.sipsUri: our requests carry sips: URIs.
  bool sips = false;
  // A UC-side next hop (`name` is its gateway's), not a trunk.
  bool uc_side = false;
  bool operator==(const TrunkInfo& o) const {
    return name == o.name && gateway == o.gateway && host == o.host &&
           port == o.port && transport == o.transport &&
           local_port == o.local_port && advertised == o.advertised &&
           keepalive == o.keepalive && interval_seconds == o.interval_seconds &&
           down_threshold == o.down_threshold && enabled == o.enabled &&
           max_concurrent_calls == o.max_concurrent_calls &&
           registration == o.registration && registrar_uri == o.registrar_uri &&
           aor == o.aor &&
           register_expires_seconds == o.register_expires_seconds &&
           credentials == o.credentials && tls_name == o.tls_name &&
           sips == o.sips && uc_side == o.uc_side;
  }
};

// A configured peer a request came from.
struct PeerMatch {
  // Empty for the UC side.
  std::string trunk;
  std::string gateway;
  // The trunk's maxConcurrentCalls (its calls in both directions); 0: none.
  uint32_t max_concurrent_calls = 0;
  bool uc_side() const { return trunk.empty(); }
};

// An IPv4 or IPv6 prefix; a bare address is a full-length prefix.
class AddressRange {
 public:
  static absl::StatusOr<AddressRange> Parse(const std::string& text);
  bool Contains(const std::string& address) const;

 private:
  int family_ = 0;
  unsigned char bytes_[16] = {};
  int prefix_bits_ = 0;
};

class PeerDirectory {
 public:
  // `pool` empty: the topology's first pool.
  static absl::StatusOr<std::unique_ptr<PeerDirectory>> Create(
      const v1::Topology& topology, const std::string& pool);

  const std::string& pool() const { return pool_; }
  // The sockets of the pool's listeners and of its trunks' local ports.
  const std::vector<ListenSpec>& listen_specs() const { return specs_; }
  // The peer behind `remote_address` that reached us on `local_port`, or
  // nothing (untrusted). A gateway with trunks on several ports is matched
  // by port first.
  std::optional<PeerMatch> Match(const std::string& remote_address,
                                 uint32_t local_port) const;
  // The same for a request as it arrived: over TLS, the verified names of
  // the peer's certificate also identify a gateway (from any address), and
  // a gateway that requires a client certificate is trusted over TLS only
  // by them.
  std::optional<PeerMatch> Match(const TransportInfo& source) const;
  // The name gateway `gateway`'s certificate must carry when we connect to
  // it over TLS: its `tls.peerName`, else its FQDN; "" when it has neither
  // (its address is checked then) or is not a peer of this pool.
  std::string TlsNameOf(const std::string& gateway) const;
  // Trunk names of this pool.
  std::vector<std::string> TrunkNames() const;
  // This pool's trunks, in topology order.
  const std::vector<TrunkInfo>& trunks() const { return trunks_; }
  // What the OPTIONS keepalive watches: the trunks, then, when
  // ucSide.keepalive is on, the UC side's next hops of this pool (named by
  // their gateway, which is how routing skips one reported down; `uc_side`
  // set, no trunk settings).
  std::vector<TrunkInfo> monitored() const;
  // The FQDNs of the gateways given by name only (no `address`), whose
  // addresses come from a resolver (HostResolver).
  std::vector<std::string> NamesToResolve() const;
  // This directory with those gateways trusted from the addresses their
  // names resolved to as well (besides their trustedSources).
  std::shared_ptr<const PeerDirectory> WithResolvedNames(
      const ResolvedNames& resolved) const;
  // The topology's digest credentials, passwords read.
  const CredentialStore& credentials() const { return credentials_; }
  // What could not be read while building (password files).
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  struct Entry {
    PeerMatch peer;
    uint32_t local_port = 0;  // 0: any
    std::vector<AddressRange> sources;
    // The gateway's FQDN when it has no address: resolved into `sources`.
    std::string resolve_name;
    // Certificate names that identify the gateway over TLS.
    std::vector<std::string> tls_names;
    // Mutual TLS: over TLS, only `tls_names` identify it.
    bool tls_identity_required = false;
    // Reached over TLS (the trunk's or gateway's transport): trusted over
    // TLS only.
    bool tls_only = false;
  };
  std::string pool_;
  std::vector<ListenSpec> specs_;
  std::vector<Entry> entries_;
  std::vector<TrunkInfo> trunks_;
  std::vector<TrunkInfo> uc_next_hops_;
  absl::flat_hash_map<std::string, std::string> tls_names_;  // by gateway
  CredentialStore credentials_;
  std::vector<std::string> problems_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_PEER_DIRECTORY_H_
