#include "services/signaling/host_resolver.h"

#include <map>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace trunkline::signaling {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A DNS of our own: what each name resolves to now, changed by the test.
class FakeDns {
 public:
  void Set(const std::string& name, std::vector<std::string> addresses) {
    absl::MutexLock lock(&mu_);
    answers_[name] = std::move(addresses);
  }
  void Fail(const std::string& name) {
    absl::MutexLock lock(&mu_);
    answers_.erase(name);
  }
  absl::StatusOr<std::vector<std::string>> Lookup(const std::string& name) {
    absl::MutexLock lock(&mu_);
    ++lookups_;
    auto it = answers_.find(name);
    if (it == answers_.end()) return absl::UnavailableError("NXDOMAIN");
    return it->second;
  }
  int lookups() {
    absl::MutexLock lock(&mu_);
    return lookups_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::vector<std::string>> answers_;
  int lookups_ = 0;
};

// What on_change delivered, waited for by the test.
class Changes {
 public:
  void Record(const ResolvedNames& resolved) {
    absl::MutexLock lock(&mu_);
    seen_.push_back(resolved);
  }
  // The `n`th change (1-based), waiting up to 5 s for it.
  std::optional<ResolvedNames> Wait(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return seen_.size() >= n;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(5))) {
      return std::nullopt;
    }
    return seen_[n - 1];
  }
  size_t count() {
    absl::MutexLock lock(&mu_);
    return seen_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<ResolvedNames> seen_;
};

// A resolver over `dns` that records its changes in `changes`.
std::unique_ptr<HostResolver> Resolve(absl::Duration refresh, FakeDns& dns,
                                      Changes& changes) {
  return std::make_unique<HostResolver>(
      refresh, [&dns](const std::string& n) { return dns.Lookup(n); },
      [&changes](const ResolvedNames& r) { changes.Record(r); });
}

TEST(HostResolverTest, ResolvesNewNamesAtOnce) {
  FakeDns dns;
  dns.Set("sip.itsp.example", {"192.0.2.20", "192.0.2.10"});
  Changes changes;
  std::unique_ptr<HostResolver> resolver =
      Resolve(absl::Hours(1), dns, changes);
  resolver->SetNames({"sip.itsp.example"});
  std::optional<ResolvedNames> first = changes.Wait(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_THAT((*first)["sip.itsp.example"],
              ElementsAre("192.0.2.10", "192.0.2.20"));
}

TEST(HostResolverTest, ResolvesAgainEveryRefreshAndReportsOnlyChanges) {
  FakeDns dns;
  dns.Set("sbc.example", {"192.0.2.1"});
  Changes changes;
  std::unique_ptr<HostResolver> resolver =
      Resolve(absl::Milliseconds(20), dns, changes);
  resolver->SetNames({"sbc.example"});
  ASSERT_TRUE(changes.Wait(1).has_value());
  // Several refreshes with the same answer: no change reported.
  const int lookups = dns.lookups();
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (dns.lookups() < lookups + 3 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_GE(dns.lookups(), lookups + 3) << "no refresh in 5 s";
  EXPECT_EQ(changes.count(), 1u);
  // The provider moves its SBC: the next refresh reports it.
  dns.Set("sbc.example", {"192.0.2.2"});
  std::optional<ResolvedNames> moved = changes.Wait(2);
  ASSERT_TRUE(moved.has_value());
  EXPECT_THAT((*moved)["sbc.example"], ElementsAre("192.0.2.2"));
}

TEST(HostResolverTest, AFailingNameKeepsItsLastAddresses) {
  FakeDns dns;
  dns.Set("a.example", {"192.0.2.1"});
  dns.Set("b.example", {"192.0.2.2"});
  Changes changes;
  std::unique_ptr<HostResolver> resolver =
      Resolve(absl::Milliseconds(20), dns, changes);
  resolver->SetNames({"a.example", "b.example"});
  ASSERT_TRUE(changes.Wait(1).has_value());
  dns.Fail("a.example");
  dns.Set("b.example", {"192.0.2.3"});
  std::optional<ResolvedNames> second = changes.Wait(2);
  ASSERT_TRUE(second.has_value());
  EXPECT_THAT((*second)["a.example"], ElementsAre("192.0.2.1"));
  EXPECT_THAT((*second)["b.example"], ElementsAre("192.0.2.3"));
}

TEST(HostResolverTest, ANameNeverResolvedIsLeftOutAndADroppedNameGoes) {
  FakeDns dns;
  dns.Set("up.example", {"192.0.2.1"});
  Changes changes;
  std::unique_ptr<HostResolver> resolver =
      Resolve(absl::Hours(1), dns, changes);
  resolver->SetNames({"up.example", "never.example"});
  std::optional<ResolvedNames> first = changes.Wait(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->count("never.example"), 0u);
  EXPECT_EQ(first->count("up.example"), 1u);
  resolver->SetNames({"never.example"});
  std::optional<ResolvedNames> second = changes.Wait(2);
  ASSERT_TRUE(second.has_value());
  EXPECT_THAT(*second, IsEmpty());
}

TEST(HostResolverTest, TheSystemResolverReadsHostsAndRefusesWhatIsNot) {
  // localhost is in every /etc/hosts; .invalid never resolves (RFC 6761).
  absl::StatusOr<std::vector<std::string>> local =
      HostResolver::SystemLookup("localhost");
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_THAT(*local, Contains("127.0.0.1"));
  absl::StatusOr<std::vector<std::string>> none =
      HostResolver::SystemLookup("gateway.invalid");
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(std::string(none.status().message()),
              ::testing::HasSubstr("cannot resolve gateway.invalid"));
}

}  // namespace
}  // namespace trunkline::signaling
