#include "services/signaling/peer_directory.h"

#include <cstdlib>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/topology/loader.h"
#include "services/signaling/srv_lookup.h"

namespace trunkline::signaling {
namespace {

std::shared_ptr<const LoadedTopology> Example() {
  const char* dir = std::getenv("TRUNKLINE_SOURCE_DIR");
  std::vector<TopologyError> errors;
  return LoadTopologyFile(
      std::string(dir ? dir : ".") + "/deploy/examples/topology.yaml", &errors);
}

TEST(AddressRangeTest, AddressesAndPrefixes) {
  auto r = AddressRange::Parse("10.1.0.0/16");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->Contains("10.1.200.3"));
  EXPECT_FALSE(r->Contains("10.2.0.1"));
  EXPECT_FALSE(r->Contains("::1"));
  auto v6 = AddressRange::Parse("2001:db8::/33");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->Contains("2001:db8:7fff::1"));
  EXPECT_FALSE(v6->Contains("2001:db8:8000::1"));
  EXPECT_FALSE(AddressRange::Parse("10.0.0.0/40").ok());
  EXPECT_FALSE(AddressRange::Parse("gw.example").ok());
}

TEST(PeerDirectoryTest, ListensOnPoolAndTrunkPorts) {
  auto t = Example();
  ASSERT_NE(t, nullptr);
  auto dir = PeerDirectory::Create(t->topology, "");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::vector<uint32_t> udp_ports;
  for (const ListenSpec& s : (*dir)->listen_specs()) {
    if (s.transport == v1::TRANSPORT_UDP) udp_ports.push_back(s.port);
    if (s.port == 5166) {
      EXPECT_EQ(s.advertised, "203.0.113.10");
    }
  }
  EXPECT_THAT(udp_ports, ::testing::UnorderedElementsAre(5060, 5070, 5160, 5162,
                                                         5164, 5166));
}

TEST(PeerDirectoryTest, TrustsConfiguredPeersOnly) {
  auto t = Example();
  auto dir = PeerDirectory::Create(t->topology, "med-pool");
  ASSERT_TRUE(dir.ok());
  auto uc = (*dir)->Match("127.0.0.11", 5060);
  ASSERT_TRUE(uc.has_value());
  EXPECT_TRUE(uc->uc_side());
  auto gw = (*dir)->Match("127.0.0.21", 5160);
  ASSERT_TRUE(gw.has_value());
  EXPECT_EQ(gw->trunk, "pstn-dub");
  EXPECT_FALSE((*dir)->Match("127.0.0.99", 5060).has_value());
}

TEST(PeerDirectoryTest, AGatewayGivenByNameIsTrustedFromWhatItResolvesTo) {
  auto t = Example();
  ASSERT_NE(t, nullptr);
  v1::Topology topology = t->topology;
  for (v1::Gateway& g : *topology.mutable_gateways()) {
    if (g.name() == "itsp") g.clear_address();  // fqdn sip.itsp.example
  }
  auto dir = PeerDirectory::Create(topology, "med-pool");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_THAT((*dir)->NamesToResolve(),
              ::testing::ElementsAre("sip.itsp.example"));
  // Not resolved yet: nobody is that gateway.
  EXPECT_FALSE((*dir)->Match("192.0.2.41", 5166).has_value());
  std::shared_ptr<const PeerDirectory> resolved = (*dir)->WithResolvedNames(
      {{"sip.itsp.example", {"192.0.2.41", "2001:db8::41"}}});
  auto v4 = resolved->Match("192.0.2.41", 5166);
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->gateway, "itsp");
  auto v6 = resolved->Match("2001:db8::41", 5166);
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->gateway, "itsp");
  EXPECT_FALSE(resolved->Match("192.0.2.42", 5166).has_value());
  // The others keep their own addresses; a name nobody asked for changes
  // nothing.
  EXPECT_TRUE(resolved->Match("127.0.0.21", 5160).has_value());
  EXPECT_FALSE(
      (*dir)
          ->WithResolvedNames({{"gw-dub.contoso.example", {"192.0.2.9"}}})
          ->Match("192.0.2.9", 5160)
          .has_value());
  // A gateway with an address needs no resolving.
  auto example = PeerDirectory::Create(t->topology, "med-pool");
  ASSERT_TRUE(example.ok());
  EXPECT_THAT((*example)->NamesToResolve(), ::testing::IsEmpty());
}

// Located by SRV: trusted from the targets of the records for the transport
// its trunk uses, and reached on no port of our choosing.
TEST(PeerDirectoryTest, AGatewayLocatedBySrvIsTrustedFromItsTargets) {
  auto t = Example();
  ASSERT_NE(t, nullptr);
  v1::Topology topology = t->topology;
  for (v1::Gateway& g : *topology.mutable_gateways()) {
    if (g.name() == "itsp") {
      g.clear_address();  // fqdn sip.itsp.example
      g.clear_port();
      g.set_dns_srv(true);
    }
  }
  std::string transport_name;
  for (v1::Trunk& trunk : *topology.mutable_trunks()) {
    if (trunk.gateway() == "itsp") {
      trunk.clear_remote_port();
      transport_name = SrvName("sip.itsp.example", trunk.transport());
    }
  }
  ASSERT_FALSE(transport_name.empty());
  auto dir = PeerDirectory::Create(topology, "med-pool");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_THAT((*dir)->NamesToResolve(), ::testing::ElementsAre(transport_name));
  std::shared_ptr<const PeerDirectory> resolved =
      (*dir)->WithResolvedNames({{transport_name, {"192.0.2.41"}}});
  auto peer = resolved->Match("192.0.2.41", 5166);
  ASSERT_TRUE(peer.has_value());
  EXPECT_EQ(peer->gateway, "itsp");
  bool found = false;
  for (const TrunkInfo& info : (*dir)->trunks()) {
    if (info.gateway != "itsp") continue;
    found = true;
    EXPECT_EQ(info.host, "sip.itsp.example");
    EXPECT_EQ(info.port, 0u);
  }
  EXPECT_TRUE(found);
}

TEST(PeerDirectoryTest, TrunksCarryTheirGatewayAndKeepalive) {
  auto t = Example();
  ASSERT_NE(t, nullptr);
  auto dir = PeerDirectory::Create(t->topology, "");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const TrunkInfo* dub = nullptr;
  const TrunkInfo* itsp = nullptr;
  for (const TrunkInfo& info : (*dir)->trunks()) {
    if (info.name == "pstn-dub") dub = &info;
    if (info.name == "itsp") itsp = &info;
  }
  ASSERT_NE(dub, nullptr);
  EXPECT_EQ(dub->gateway, "gw-dub");
  EXPECT_EQ(dub->host, "127.0.0.21");
  EXPECT_EQ(dub->port, 5060u);
  EXPECT_EQ(dub->local_port, 5160u);
  EXPECT_EQ(dub->advertised, "127.0.0.1");
  EXPECT_TRUE(dub->keepalive);
  EXPECT_EQ(dub->interval_seconds, 30u);
  EXPECT_EQ(dub->down_threshold, 3u);
  EXPECT_EQ(dub->max_concurrent_calls, 30u);
  ASSERT_NE(itsp, nullptr);
  EXPECT_EQ(itsp->advertised, "203.0.113.10");
  EXPECT_EQ(itsp->interval_seconds, 60u);  // the documented default
}

// The keepalive also watches the UC side's next hops, by gateway name, but
// only when ucSide.keepalive turns it on.
TEST(PeerDirectoryTest, UcNextHopsAreWatchedWhenUcSideKeepaliveSaysSo) {
  auto t = Example();
  ASSERT_NE(t, nullptr);
  v1::Topology topology = t->topology;
  auto dir = PeerDirectory::Create(topology, "");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ((*dir)->monitored().size(), (*dir)->trunks().size())
      << "off unless ucSide.keepalive enables it";

  topology.mutable_uc_side()->mutable_keepalive()->set_enabled(true);
  topology.mutable_uc_side()->mutable_keepalive()->set_interval_seconds(10);
  dir = PeerDirectory::Create(topology, "");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::vector<TrunkInfo> watched = (*dir)->monitored();
  ASSERT_EQ(watched.size(), (*dir)->trunks().size() + 2);
  const TrunkInfo& fe1 = watched[watched.size() - 2];
  EXPECT_EQ(fe1.name, "fe-dub-1");
  EXPECT_EQ(fe1.gateway, "fe-dub-1");
  EXPECT_TRUE(fe1.uc_side);
  EXPECT_EQ(fe1.host, "127.0.0.11");
  EXPECT_EQ(fe1.port, 5060u);
  EXPECT_EQ(fe1.local_port, 5060u);  // the lan listener
  EXPECT_TRUE(fe1.keepalive);
  const TrunkInfo& fe2 = watched.back();
  EXPECT_EQ(fe2.name, "fe-dub-2");
  EXPECT_TRUE(fe2.keepalive);
  EXPECT_EQ(fe2.interval_seconds, 10u);
  EXPECT_EQ(fe2.down_threshold, 3u);  // as for trunks
}

TEST(PeerDirectoryTest, UnknownPoolIsAnError) {
  auto t = Example();
  auto dir = PeerDirectory::Create(t->topology, "nope");
  EXPECT_FALSE(dir.ok());
  EXPECT_THAT(std::string(dir.status().message()),
              ::testing::HasSubstr("--pool"));
}

}  // namespace
}  // namespace trunkline::signaling

namespace trunkline::signaling {
namespace {

TEST(PeerDirectoryTest, CredentialsComeFromTheirFilesOrSayWhyNot) {
  auto t = Example();
  ASSERT_NE(t, nullptr);
  // The example's passwordFile is a Secret mount this machine lacks.
  auto missing = PeerDirectory::Create(t->topology, "");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ((*missing)->credentials().Find("itsp-account"), nullptr);
  ASSERT_EQ((*missing)->problems().size(), 1u);
  EXPECT_THAT((*missing)->problems()[0],
              ::testing::HasSubstr("/etc/trunkline/secrets/itsp-password"));

  v1::Topology topology = t->topology;
  const std::string file = ::testing::TempDir() + "/itsp-password-pd";
  std::ofstream(file) << "pa ss\n";
  topology.mutable_credentials(0)->set_password_file(file);
  auto dir = PeerDirectory::Create(topology, "");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const DigestCredential* c = (*dir)->credentials().Find("itsp-account");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->username, "contoso-trunk");
  EXPECT_EQ(c->realm, "itsp.example");
  EXPECT_EQ(c->password, "pa ss") << "the file's trailing newline is dropped";
  EXPECT_TRUE((*dir)->problems().empty());
}

}  // namespace
}  // namespace trunkline::signaling

namespace trunkline::signaling {
namespace {

// A pool with a TLS listener on IPv4 and a UDP+TLS one on IPv6 loopback, a
// trunk to a TLS gateway that asks for mutual TLS (its own port, its own
// CA), and a UC front end over TLS.
constexpr char kTlsTopology[] = R"yaml(
sites: [{name: hq}]
pools:
  - name: pool
    site: hq
    listeners:
      - name: v4
        address: 127.0.0.1
        port: 15061
        transports: [tls]
        tls: {certificateFile: /certs/server.pem, privateKeyFile: /certs/server.key,
              caFile: /certs/ca.pem}
      - name: v6
        address: '::1'
        port: 15062
        transports: [udp, tls]
        tls: {certificateFile: /certs/server.pem, privateKeyFile: /certs/server.key}
gateways:
  - name: gw
    kind: pstn_gateway
    address: 127.0.0.21
    fqdn: gw.example
    transport: tls
    tls: {caFile: /certs/gw-ca.pem, requireClientCertificate: true}
  - name: gw6
    kind: ip_pbx
    address: '::1'
  - name: fe
    kind: uc_front_end
    address: 127.0.0.11
    fqdn: fe.example
trunks:
  - {name: trunk, pool: pool, listener: v4, gateway: gw, localPort: 15161}
  - {name: pbx6, pool: pool, listener: v6, gateway: gw6, localPort: 15162}
trunkConfigurations: [{name: global}]
pstnUsages: [{name: Local}]
voiceRoutes:
  - {name: local, numberPattern: '^\+1(\d{10})$', pstnUsages: [Local], trunks: [{trunk: trunk}]}
voicePolicies: [{name: global, pstnUsages: [Local]}]
ucSide:
  nextHops: [{gateway: fe, pool: pool, listener: v4}]
)yaml";

v1::Topology TlsTopology() {
  std::vector<TopologyError> errors;
  auto t = LoadTopologyText(kTlsTopology, "tls.yaml", &errors);
  EXPECT_NE(t, nullptr) << (errors.empty() ? "" : errors[0].ToString());
  return t ? t->topology : v1::Topology();
}

const ListenSpec* FindSpec(const PeerDirectory& dir, uint32_t port,
                           v1::Transport transport) {
  for (const ListenSpec& s : dir.listen_specs()) {
    if (s.port == port && s.transport == transport) return &s;
  }
  return nullptr;
}

TEST(PeerDirectoryTlsTest, TlsSocketsCarryTheirFiles) {
  auto dir = PeerDirectory::Create(TlsTopology(), "");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const ListenSpec* v4 = FindSpec(**dir, 15061, v1::TRANSPORT_TLS);
  ASSERT_NE(v4, nullptr);
  EXPECT_EQ(v4->address, "127.0.0.1");
  EXPECT_EQ(v4->tls.certificate_file, "/certs/server.pem");
  EXPECT_EQ(v4->tls.private_key_file, "/certs/server.key");
  EXPECT_EQ(v4->tls.ca_file, "/certs/ca.pem");
  EXPECT_FALSE(v4->tls.verify_incoming);
  EXPECT_TRUE(v4->tls.verify_outgoing) << "a CA file verifies gateways";
  EXPECT_EQ(v4->tls.owner, "pool \"pool\" listener \"v4\"");

  // The trunk's own socket: the listener's certificate, the gateway's CA,
  // and mutual TLS because the gateway asks for it.
  const ListenSpec* trunk = FindSpec(**dir, 15161, v1::TRANSPORT_TLS);
  ASSERT_NE(trunk, nullptr);
  EXPECT_EQ(trunk->tls.certificate_file, "/certs/server.pem");
  EXPECT_EQ(trunk->tls.ca_file, "/certs/gw-ca.pem");
  EXPECT_TRUE(trunk->tls.verify_incoming);
  EXPECT_EQ(trunk->tls.owner, "trunk \"trunk\"");

  // IPv6: both transports, no CA, nothing verified.
  const ListenSpec* v6 = FindSpec(**dir, 15062, v1::TRANSPORT_TLS);
  ASSERT_NE(v6, nullptr);
  EXPECT_EQ(v6->address, "::1");
  EXPECT_FALSE(v6->tls.verify_outgoing);
  const ListenSpec* v6udp = FindSpec(**dir, 15062, v1::TRANSPORT_UDP);
  ASSERT_NE(v6udp, nullptr);
  EXPECT_TRUE(v6udp->tls.certificate_file.empty()) << "UDP has no TLS";
  ASSERT_NE(FindSpec(**dir, 15162, v1::TRANSPORT_UDP), nullptr);

  const TrunkInfo& info = (*dir)->trunks()[0];
  EXPECT_EQ(info.transport, v1::TRANSPORT_TLS);
  EXPECT_EQ(info.port, 5061u) << "TLS gateways default to 5061";
  // What the gateway's certificate must name when we connect to it: its
  // FQDN, as its address is where we connect.
  EXPECT_EQ(info.tls_name, "gw.example");
  EXPECT_EQ((*dir)->TlsNameOf("gw"), "gw.example");
  EXPECT_EQ((*dir)->TlsNameOf("fe"), "fe.example");
  EXPECT_EQ((*dir)->TlsNameOf("gw6"), "") << "no name: its address is checked";
  EXPECT_EQ((*dir)->trunks()[1].tls_name, "") << "not a TLS trunk";
}

TEST(PeerDirectoryTlsTest, PeerNameOverridesTheFqdnForTheCertificate) {
  v1::Topology t = TlsTopology();
  for (v1::Gateway& g : *t.mutable_gateways()) {
    if (g.name() == "gw") g.mutable_tls()->set_peer_name("sbc.carrier.example");
  }
  auto dir = PeerDirectory::Create(t, "");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ((*dir)->trunks()[0].tls_name, "sbc.carrier.example");
  EXPECT_EQ((*dir)->TlsNameOf("gw"), "sbc.carrier.example");
}

TEST(PeerDirectoryTlsTest, SipsUriGatewaysTrunksSaySoAndRegisterWithSips) {
  v1::Topology t = TlsTopology();
  for (v1::Gateway& g : *t.mutable_gateways()) {
    if (g.name() == "gw") g.mutable_tls()->set_sips_uri(true);
  }
  for (v1::TrunkConfiguration& c : *t.mutable_trunk_configurations()) {
    c.mutable_registration()->set_enabled(true);
    c.mutable_registration()->set_aor("sips:+15550001000@gw.example");
  }
  auto dir = PeerDirectory::Create(t, "");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const TrunkInfo& info = (*dir)->trunks()[0];
  EXPECT_TRUE(info.sips);
  EXPECT_EQ(info.registrar_uri, "sips:127.0.0.21");
  EXPECT_FALSE((*dir)->trunks()[1].sips) << "not a TLS trunk";
  // A reload that only turns sipsUri off is a change of the trunk (its
  // keepalive and registration start again).
  TrunkInfo without = info;
  without.sips = false;
  EXPECT_FALSE(info == without);
}

TEST(PeerDirectoryTlsTest, TrustOverTlsByAddressOrCertificateName) {
  auto dir = PeerDirectory::Create(TlsTopology(), "");
  ASSERT_TRUE(dir.ok()) << dir.status();
  TransportInfo src;
  src.transport = v1::TRANSPORT_TLS;
  src.local_port = 15061;
  // The UC front end by address, and by its certificate from elsewhere.
  src.remote_address = "127.0.0.11";
  ASSERT_TRUE((*dir)->Match(src).has_value());
  EXPECT_TRUE((*dir)->Match(src)->uc_side());
  src.remote_address = "127.0.0.99";
  EXPECT_FALSE((*dir)->Match(src).has_value());
  src.tls_names = {"FE.example"};
  ASSERT_TRUE((*dir)->Match(src).has_value()) << "names match case-blind";
  EXPECT_TRUE((*dir)->Match(src)->uc_side());
  // A name is no identity over UDP (no certificate there).
  src.transport = v1::TRANSPORT_UDP;
  EXPECT_FALSE((*dir)->Match(src).has_value());

  // The gateway asks for mutual TLS: over TLS its address alone is not
  // enough, the certificate must name it.
  src = TransportInfo();
  src.transport = v1::TRANSPORT_TLS;
  src.local_port = 15161;
  src.remote_address = "127.0.0.21";
  EXPECT_FALSE((*dir)->Match(src).has_value());
  src.tls_names = {"other.example"};
  EXPECT_FALSE((*dir)->Match(src).has_value());
  src.tls_names = {"gw.example"};
  ASSERT_TRUE((*dir)->Match(src).has_value());
  EXPECT_EQ((*dir)->Match(src)->trunk, "trunk");
  // A gateway reached over TLS is not trusted by its address over UDP or
  // TCP, on any port (a spoofed UDP source would pass for it).
  for (v1::Transport plain : {v1::TRANSPORT_UDP, v1::TRANSPORT_TCP}) {
    TransportInfo spoofed;
    spoofed.transport = plain;
    spoofed.remote_address = "127.0.0.21";
    for (uint32_t port : {15161u, 5060u}) {
      spoofed.local_port = port;
      EXPECT_FALSE((*dir)->Match(spoofed).has_value())
          << v1::Transport_Name(plain) << " to port " << port;
    }
  }

  // IPv6 source addresses.
  EXPECT_EQ((*dir)->Match("::1", 15162).value_or(PeerMatch{}).trunk, "pbx6");
  EXPECT_FALSE((*dir)->Match("::2", 15162).has_value());
}

TEST(PeerDirectoryTlsTest, ConflictsAndGapsAreErrors) {
  // The gateway's TLS settings differ from its listener's on one socket.
  v1::Topology shared = TlsTopology();
  shared.mutable_trunks(0)->clear_local_port();
  auto dir = PeerDirectory::Create(shared, "");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(std::string(dir.status().message()),
              ::testing::AllOf(::testing::HasSubstr("trunk \"trunk\""),
                               ::testing::HasSubstr("127.0.0.1:15061/tls"),
                               ::testing::HasSubstr("its own localPort")));

  // Mutual TLS without a CA to verify the peer.
  v1::Topology no_ca = TlsTopology();
  no_ca.mutable_gateways(0)->mutable_tls()->clear_ca_file();
  no_ca.mutable_pools(0)->mutable_listeners(0)->mutable_tls()->clear_ca_file();
  dir = PeerDirectory::Create(no_ca, "");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(
      std::string(dir.status().message()),
      ::testing::HasSubstr("requireClientCertificate needs tls.caFile"));

  // A TLS trunk on a listener without TLS.
  v1::Topology udp_only = TlsTopology();
  udp_only.mutable_trunks(0)->set_listener("v6");
  udp_only.mutable_pools(0)->mutable_listeners(1)->clear_transports();
  udp_only.mutable_pools(0)->mutable_listeners(1)->add_transports(
      v1::TRANSPORT_UDP);
  dir = PeerDirectory::Create(udp_only, "");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(std::string(dir.status().message()),
              ::testing::HasSubstr("does not serve tls"));

  // A version floor Sofia cannot enforce.
  v1::Topology tls13 = TlsTopology();
  tls13.mutable_pools(0)->mutable_listeners(0)->mutable_tls()->set_min_version(
      "1.3");
  dir = PeerDirectory::Create(tls13, "");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(std::string(dir.status().message()),
              ::testing::HasSubstr("minVersion 1.3 cannot be enforced"));

  // Two addresses on one port and transport.
  v1::Topology same_port = TlsTopology();
  same_port.mutable_pools(0)->mutable_listeners(1)->set_port(15061);
  dir = PeerDirectory::Create(same_port, "");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(std::string(dir.status().message()),
              ::testing::HasSubstr("port 15061/tls is already used"));
}

}  // namespace
}  // namespace trunkline::signaling
