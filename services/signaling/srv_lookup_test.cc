#include "services/signaling/srv_lookup.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A DNS response built byte by byte (RFC 1035 section 4.1), as a server
// sends it: the question, then the answers.
class DnsResponse {
 public:
  explicit DnsResponse(const std::string& question) {
    Put16(0x1234);  // id
    Put16(0x8180);  // a response, recursion desired and available, NOERROR
    Put16(1);       // one question
    Put16(0);       // answers: filled in by Finish
    Put16(0);
    Put16(0);
    PutName(question);
    Put16(33);  // SRV
    Put16(1);   // IN
  }
  // An SRV answer for the question's name (a compression pointer to it).
  DnsResponse& Srv(uint16_t priority, uint16_t weight, uint16_t port,
                   const std::string& target) {
    std::vector<unsigned char> rdata;
    for (uint16_t v : {priority, weight, port}) {
      rdata.push_back(static_cast<unsigned char>(v >> 8));
      rdata.push_back(static_cast<unsigned char>(v & 0xff));
    }
    AppendName(target, &rdata);
    return Answer(33, rdata);
  }
  DnsResponse& Cname(const std::string& target) {
    std::vector<unsigned char> rdata;
    AppendName(target, &rdata);
    return Answer(5, rdata);
  }
  std::vector<unsigned char> Finish() {
    bytes_[6] = static_cast<unsigned char>(answers_ >> 8);
    bytes_[7] = static_cast<unsigned char>(answers_ & 0xff);
    return bytes_;
  }

 private:
  DnsResponse& Answer(uint16_t type, const std::vector<unsigned char>& rdata) {
    Put16(0xc00c);  // the question's name, at offset 12
    Put16(type);
    Put16(1);  // IN
    Put16(0);  // TTL 300
    Put16(300);
    Put16(static_cast<uint16_t>(rdata.size()));
    bytes_.insert(bytes_.end(), rdata.begin(), rdata.end());
    ++answers_;
    return *this;
  }
  static void AppendName(const std::string& name,
                         std::vector<unsigned char>* out) {
    size_t start = 0;
    while (start < name.size() && name != ".") {
      size_t dot = name.find('.', start);
      if (dot == std::string::npos) dot = name.size();
      out->push_back(static_cast<unsigned char>(dot - start));
      out->insert(out->end(), name.begin() + start, name.begin() + dot);
      start = dot + 1;
    }
    out->push_back(0);
  }
  void PutName(const std::string& name) { AppendName(name, &bytes_); }
  void Put16(uint16_t v) {
    bytes_.push_back(static_cast<unsigned char>(v >> 8));
    bytes_.push_back(static_cast<unsigned char>(v & 0xff));
  }
  std::vector<unsigned char> bytes_;
  uint16_t answers_ = 0;
};

TEST(SrvNameTest, FollowsRfc3263ForEachTransport) {
  EXPECT_EQ(SrvName("itsp.example", v1::TRANSPORT_UDP),
            "_sip._udp.itsp.example");
  EXPECT_EQ(SrvName("itsp.example", v1::TRANSPORT_UNSPECIFIED),
            "_sip._udp.itsp.example");
  EXPECT_EQ(SrvName("itsp.example", v1::TRANSPORT_TCP),
            "_sip._tcp.itsp.example");
  EXPECT_EQ(SrvName("itsp.example", v1::TRANSPORT_TLS),
            "_sips._tcp.itsp.example");
  for (v1::Transport t :
       {v1::TRANSPORT_UDP, v1::TRANSPORT_TCP, v1::TRANSPORT_TLS}) {
    EXPECT_TRUE(IsSrvName(SrvName("itsp.example", t)));
    EXPECT_EQ(SrvDomain(SrvName("itsp.example", t)), "itsp.example");
  }
  EXPECT_FALSE(IsSrvName("itsp.example"));
  EXPECT_FALSE(IsSrvName("_xmpp._tcp.itsp.example"));
}

TEST(ParseSrvAnswerTest, ReadsEveryRecordAndSkipsOtherTypes) {
  std::vector<unsigned char> msg = DnsResponse("_sip._udp.itsp.example")
                                       .Cname("alias.itsp.example")
                                       .Srv(10, 60, 5060, "sbc1.itsp.example")
                                       .Srv(20, 0, 5080, "sbc2.itsp.example")
                                       .Finish();
  absl::StatusOr<std::vector<SrvRecord>> records =
      ParseSrvAnswer(msg.data(), static_cast<int>(msg.size()));
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].priority, 10);
  EXPECT_EQ((*records)[0].weight, 60);
  EXPECT_EQ((*records)[0].port, 5060);
  EXPECT_EQ((*records)[0].target, "sbc1.itsp.example");
  EXPECT_EQ((*records)[1].priority, 20);
  EXPECT_EQ((*records)[1].port, 5080);
  EXPECT_EQ((*records)[1].target, "sbc2.itsp.example");
}

TEST(ParseSrvAnswerTest, TheRootTargetIsADot) {
  std::vector<unsigned char> msg =
      DnsResponse("_sip._udp.itsp.example").Srv(0, 0, 0, ".").Finish();
  absl::StatusOr<std::vector<SrvRecord>> records =
      ParseSrvAnswer(msg.data(), static_cast<int>(msg.size()));
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].target, ".");
}

TEST(ParseSrvAnswerTest, RefusesATruncatedResponse) {
  std::vector<unsigned char> msg = DnsResponse("_sip._udp.itsp.example")
                                       .Srv(10, 60, 5060, "sbc1.itsp.example")
                                       .Finish();
  for (size_t cut : {size_t{5}, msg.size() - 20, msg.size() - 3}) {
    EXPECT_FALSE(ParseSrvAnswer(msg.data(), static_cast<int>(cut)).ok())
        << "cut at " << cut;
  }
}

// Fake DNS for SrvAddresses: SRV records and addresses by name.
struct FakeDns {
  absl::flat_hash_map<std::string, std::vector<SrvRecord>> srv;
  absl::flat_hash_map<std::string, std::vector<std::string>> addresses;
  bool srv_unavailable = false;
  std::vector<std::string> asked;

  SrvQuery Srv() {
    return
        [this](
            const std::string& name) -> absl::StatusOr<std::vector<SrvRecord>> {
          asked.push_back("SRV " + name);
          if (srv_unavailable) return absl::UnavailableError("timed out");
          auto it = srv.find(name);
          return it == srv.end() ? std::vector<SrvRecord>{} : it->second;
        };
  }
  AddressQuery Addresses() {
    return [this](const std::string& name)
               -> absl::StatusOr<std::vector<std::string>> {
      asked.push_back("A/AAAA " + name);
      auto it = addresses.find(name);
      if (it == addresses.end()) {
        return absl::UnavailableError("cannot resolve " + name);
      }
      return it->second;
    };
  }
};

TEST(SrvAddressesTest, EveryTargetsAddresses) {
  FakeDns dns;
  dns.srv["_sip._udp.itsp.example"] = {{10, 50, 5060, "sbc2.itsp.example"},
                                       {10, 50, 5060, "sbc1.itsp.example"},
                                       {20, 0, 5080, "sbc1.itsp.example"}};
  dns.addresses["sbc1.itsp.example"] = {"192.0.2.10", "2001:db8::10"};
  dns.addresses["sbc2.itsp.example"] = {"192.0.2.20"};
  dns.addresses["itsp.example"] = {"198.51.100.1"};  // its web site
  absl::StatusOr<std::vector<std::string>> found =
      SrvAddresses("_sip._udp.itsp.example", dns.Srv(), dns.Addresses());
  ASSERT_TRUE(found.ok()) << found.status();
  // The domain's own address is not where SIP goes, so not trusted.
  EXPECT_THAT(*found, ElementsAre("192.0.2.10", "192.0.2.20", "2001:db8::10"));
}

TEST(SrvAddressesTest, WithoutRecordsTheDomainsOwnAddresses) {
  FakeDns dns;
  dns.addresses["itsp.example"] = {"198.51.100.1"};
  absl::StatusOr<std::vector<std::string>> found =
      SrvAddresses("_sip._tcp.itsp.example", dns.Srv(), dns.Addresses());
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, ElementsAre("198.51.100.1"));
  EXPECT_THAT(dns.asked,
              ElementsAre("SRV _sip._tcp.itsp.example", "A/AAAA itsp.example"));

  dns.addresses.clear();
  found = SrvAddresses("_sip._tcp.itsp.example", dns.Srv(), dns.Addresses());
  ASSERT_FALSE(found.ok());
  EXPECT_THAT(found.status().message(),
              HasSubstr("no SRV records for _sip._tcp.itsp.example"));
}

TEST(SrvAddressesTest, ATargetThatDoesNotResolveIsLeftOut) {
  FakeDns dns;
  dns.srv["_sips._tcp.itsp.example"] = {{10, 0, 5061, "gone.itsp.example"},
                                        {20, 0, 5061, "sbc1.itsp.example"}};
  dns.addresses["sbc1.itsp.example"] = {"192.0.2.10"};
  absl::StatusOr<std::vector<std::string>> found =
      SrvAddresses("_sips._tcp.itsp.example", dns.Srv(), dns.Addresses());
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, ElementsAre("192.0.2.10"));

  dns.addresses.clear();
  found = SrvAddresses("_sips._tcp.itsp.example", dns.Srv(), dns.Addresses());
  ASSERT_FALSE(found.ok());
  EXPECT_THAT(found.status().message(),
              HasSubstr("no SRV target of _sips._tcp.itsp.example resolves"));
  EXPECT_THAT(found.status().message(), HasSubstr("gone.itsp.example"));
}

TEST(SrvAddressesTest, ServiceNotOfferedAndDnsDown) {
  FakeDns dns;
  dns.srv["_sip._udp.itsp.example"] = {{0, 0, 0, "."}};
  dns.addresses["itsp.example"] = {"198.51.100.1"};
  absl::StatusOr<std::vector<std::string>> found =
      SrvAddresses("_sip._udp.itsp.example", dns.Srv(), dns.Addresses());
  ASSERT_FALSE(found.ok());
  EXPECT_THAT(found.status().message(), HasSubstr("not offered"));

  dns.srv_unavailable = true;
  found = SrvAddresses("_sip._udp.itsp.example", dns.Srv(), dns.Addresses());
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), absl::StatusCode::kUnavailable);
  // No fallback to the domain's addresses when DNS did not answer: that
  // would trust what requests do not go to.
  EXPECT_THAT(dns.asked.back(), HasSubstr("SRV"));
}

}  // namespace
}  // namespace trunkline::signaling
