#include "services/signaling/host_resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/log.h"
#include "services/signaling/srv_lookup.h"

namespace trunkline::signaling {

namespace {

// A and AAAA through getaddrinfo (/etc/hosts, then DNS).
absl::StatusOr<std::vector<std::string>> AddressLookup(
    const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(name.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", name, ": ", gai_strerror(rc)));
  }
  std::vector<std::string> addresses;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw =
        a->ai_family == AF_INET
            ? static_cast<const void*>(
                  &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr)
            : static_cast<const void*>(
                  &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)
                       ->sin6_addr);
    if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) &&
        inet_ntop(a->ai_family, raw, text, sizeof text) != nullptr) {
      addresses.emplace_back(text);
    }
  }
  freeaddrinfo(found);
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()),
                  addresses.end());
  if (addresses.empty()) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", name, ": no IPv4 or IPv6 address"));
  }
  return addresses;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> HostResolver::SystemLookup(
    const std::string& name) {
  if (IsSrvName(name)) return SrvAddresses(name, QuerySrv, AddressLookup);
  return AddressLookup(name);
}

HostResolver::HostResolver(absl::Duration refresh, Lookup lookup,
                           OnChange on_change, OnFailing on_failing)
    : refresh_(refresh),
      lookup_(std::move(lookup)),
      on_change_(std::move(on_change)),
      on_failing_(std::move(on_failing)) {
  thread_ = std::thread([this] { Run(); });
}

HostResolver::~HostResolver() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void HostResolver::SetNames(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  absl::MutexLock lock(&mu_);
  if (names == names_) return;
  names_ = std::move(names);
  names_changed_ = true;
}

void HostResolver::Run() {
  while (true) {
    std::vector<std::string> names;
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || names_changed_;
      };
      // The first pass waits for the first set of names.
      if (names_.empty() || !names_changed_) {
        mu_.AwaitWithTimeout(absl::Condition(&woken), refresh_);
      }
      if (stop_) return;
      names_changed_ = false;
      names = names_;
    }
    ResolvePass(names);
  }
}

std::vector<std::string> HostResolver::FailingNames() const {
  std::vector<std::string> names;
  names.reserve(failing_.size());
  for (const auto& [name, why] : failing_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

void HostResolver::ReportFailing(const std::vector<std::string>& before) {
  if (on_failing_ == nullptr) return;
  std::vector<std::string> failing = FailingNames();
  if (failing != before) on_failing_(failing);
}

void HostResolver::ResolvePass(const std::vector<std::string>& names) {
  // `names` is sorted (SetNames).
  auto asked = [&names](const std::string& name) {
    return std::binary_search(names.begin(), names.end(), name);
  };
  // Names no longer asked for go first.
  std::vector<std::string> failing_before = FailingNames();
  absl::erase_if(failing_, [&](const auto& e) { return !asked(e.first); });
  if (absl::erase_if(resolved_,
                     [&](const auto& e) { return !asked(e.first); }) > 0) {
    on_change_(resolved_);
  }
  ReportFailing(failing_before);
  if (names.empty()) return;

  std::atomic<size_t> next{0};
  std::vector<std::thread> lookups;
  const size_t parallel = std::min(kParallelLookups, names.size());
  for (size_t t = 0; t < parallel; ++t) {
    lookups.emplace_back([this, &names, &next] {
      for (size_t i; (i = next.fetch_add(1)) < names.size();) {
        Answer answer = lookup_(names[i]);
        absl::MutexLock lock(&answers_mu_);
        answers_.emplace_back(i, std::move(answer));
      }
    });
  }
  for (size_t taken = 0; taken < names.size();) {
    std::vector<std::pair<size_t, Answer>> ready;
    {
      absl::MutexLock lock(&answers_mu_);
      auto any = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(answers_mu_) {
        return !answers_.empty();
      };
      answers_mu_.Await(absl::Condition(&any));
      ready.swap(answers_);
    }
    failing_before = FailingNames();
    bool changed = false;
    for (auto& [index, answer] : ready) {
      changed |= Take(names[index], std::move(answer));
    }
    taken += ready.size();
    if (changed) on_change_(resolved_);
    ReportFailing(failing_before);
  }
  for (std::thread& lookup : lookups) lookup.join();
}

bool HostResolver::Take(const std::string& name, Answer answer) {
  if (answer.ok() && !answer->empty()) {
    std::sort(answer->begin(), answer->end());
    if (failing_.erase(name) > 0) {
      TL_LOG(kInfo, "gateway FQDN resolves again")
          .With("name", name)
          .With("addresses", absl::StrJoin(*answer, ","));
    }
    std::vector<std::string>& addresses = resolved_[name];
    if (addresses == *answer) return false;
    addresses = *std::move(answer);
    TL_LOG(kInfo, "gateway FQDN resolved")
        .With("name", name)
        .With("addresses", absl::StrJoin(addresses, ","));
    return true;
  }
  const std::string why = answer.ok() ? absl::StrCat("no address for ", name)
                                      : std::string(answer.status().message());
  if (failing_[name] != why) {
    failing_[name] = why;
    TL_LOG(kWarning, resolved_.contains(name)
                         ? "gateway FQDN does not resolve: its last "
                           "addresses stay trusted"
                         : "gateway FQDN does not resolve: requests from "
                           "it are refused until it does")
        .With("name", name)
        .With("detail", why);
  }
  // Its last addresses, if any, stay.
  return false;
}

}  // namespace trunkline::signaling
