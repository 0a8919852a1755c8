#include "services/signaling/host_resolver.h"

#include <functional>
#include <map>
#include <memory>
#include <set>

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
  // Lookups of `name` wait until Release(): a DNS server slow to answer.
  void Hold(const std::string& name) {
    absl::MutexLock lock(&mu_);
    held_.insert(name);
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    held_.clear();
  }
  absl::StatusOr<std::vector<std::string>> Lookup(const std::string& name) {
    absl::MutexLock lock(&mu_);
    auto answered = [this, &name]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return held_.count(name) == 0;
    };
    mu_.Await(absl::Condition(&answered));
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
  std::set<std::string> held_;
  int lookups_ = 0;
};

// What a callback delivered, waited for by the test.
template <typename T>
class Recorded {
 public:
  void Record(const T& value) {
    absl::MutexLock lock(&mu_);
    seen_.push_back(value);
  }
  // The `n`th report (1-based), waiting up to 5 s for it.
  std::optional<T> Wait(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return seen_.size() >= n;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(5))) {
      return std::nullopt;
    }
    return seen_[n - 1];
  }
  // The first report `accepted` takes, waiting up to 5 s for it.
  std::optional<T> WaitFor(const std::function<bool(const T&)>& accepted) {
    absl::MutexLock lock(&mu_);
    size_t checked = 0;
    std::optional<T> found;
    auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (; checked < seen_.size(); ++checked) {
        if (accepted(seen_[checked])) {
          found = seen_[checked];
          return true;
        }
      }
      return false;
    };
    mu_.AwaitWithTimeout(absl::Condition(&seen), absl::Seconds(5));
    return found;
  }
  size_t count() {
    absl::MutexLock lock(&mu_);
    return seen_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<T> seen_;
};
using Changes = Recorded<ResolvedNames>;
using Failing = Recorded<std::vector<std::string>>;

// A resolver over `dns` that records its changes in `changes`.
// With `failing`, also the names whose lookups fail, as reported.
std::unique_ptr<HostResolver> Resolve(absl::Duration refresh, FakeDns& dns,
                                      Changes& changes,
                                      Failing* failing = nullptr) {
  HostResolver::OnFailing on_failing = nullptr;
  if (failing != nullptr) {
    on_failing = [failing](const std::vector<std::string>& names) {
      failing->Record(names);
    };
  }
  return std::make_unique<HostResolver>(
      refresh, [&dns](const std::string& n) { return dns.Lookup(n); },
      [&changes](const ResolvedNames& r) { changes.Record(r); },
      std::move(on_failing));
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
  // Each answer is reported as it comes: until both are in.
  ASSERT_TRUE(
      changes.WaitFor([](const ResolvedNames& r) { return r.size() == 2; })
          .has_value());
  dns.Fail("a.example");
  dns.Set("b.example", {"192.0.2.3"});
  std::optional<ResolvedNames> moved =
      changes.WaitFor([](const ResolvedNames& r) {
        auto b = r.find("b.example");
        return b != r.end() &&
               b->second == std::vector<std::string>{"192.0.2.3"};
      });
  ASSERT_TRUE(moved.has_value());
  EXPECT_THAT((*moved)["a.example"], ElementsAre("192.0.2.1"));
  EXPECT_THAT((*moved)["b.example"], ElementsAre("192.0.2.3"));
}

TEST(HostResolverTest, ReportsTheNamesWhoseLookupsFailWhenThatSetChanges) {
  FakeDns dns;
  dns.Set("a.example", {"192.0.2.1"});
  Changes changes;
  Failing failing;
  std::unique_ptr<HostResolver> resolver =
      Resolve(absl::Milliseconds(20), dns, changes, &failing);
  resolver->SetNames({"a.example", "never.example"});
  std::optional<std::vector<std::string>> first = failing.Wait(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_THAT(*first, ElementsAre("never.example"));
  // a.example stops resolving (kept on its address, but reported), then
  // answers again.
  dns.Fail("a.example");
  std::optional<std::vector<std::string>> second = failing.Wait(2);
  ASSERT_TRUE(second.has_value());
  EXPECT_THAT(*second, ElementsAre("a.example", "never.example"));
  ASSERT_TRUE(changes.Wait(1).has_value());
  EXPECT_THAT((*changes.Wait(1))["a.example"], ElementsAre("192.0.2.1"));
  dns.Set("a.example", {"192.0.2.1"});
  std::optional<std::vector<std::string>> third = failing.Wait(3);
  ASSERT_TRUE(third.has_value());
  EXPECT_THAT(*third, ElementsAre("never.example"));
  // Refreshes that change nothing report nothing; a dropped name leaves
  // the set.
  const int lookups = dns.lookups();
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (dns.lookups() < lookups + 4 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(failing.count(), 3u);
  resolver->SetNames({"a.example"});
  std::optional<std::vector<std::string>> fourth = failing.Wait(4);
  ASSERT_TRUE(fourth.has_value());
  EXPECT_THAT(*fourth, IsEmpty());
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

TEST(HostResolverTest, ANameSlowToAnswerHoldsUpNoOther) {
  FakeDns dns;
  dns.Set("fast.example", {"192.0.2.1"});
  dns.Set("slow.example", {"192.0.2.2"});
  dns.Hold("slow.example");
  Changes changes;
  std::unique_ptr<HostResolver> resolver =
      Resolve(absl::Hours(1), dns, changes);
  resolver->SetNames({"fast.example", "slow.example"});
  std::optional<ResolvedNames> first = changes.Wait(1);
  // Released before any assertion can end the test with a lookup held.
  dns.Release();
  ASSERT_TRUE(first.has_value()) << "the fast name waited for the slow one";
  EXPECT_THAT((*first)["fast.example"], ElementsAre("192.0.2.1"));
  EXPECT_EQ(first->count("slow.example"), 0u);
  std::optional<ResolvedNames> second = changes.Wait(2);
  ASSERT_TRUE(second.has_value());
  EXPECT_THAT((*second)["fast.example"], ElementsAre("192.0.2.1"));
  EXPECT_THAT((*second)["slow.example"], ElementsAre("192.0.2.2"));
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
