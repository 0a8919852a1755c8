#include "services/signaling/peer_directory.h"

#include <cstdlib>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/topology/loader.h"

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
