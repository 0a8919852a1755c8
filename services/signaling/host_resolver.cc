#include "services/signaling/host_resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/log.h"

namespace trunkline::signaling {

absl::StatusOr<std::vector<std::string>> HostResolver::SystemLookup(
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
    const std::vector<std::string> failing_before = FailingNames();
    if (ResolveAll(names)) on_change_(resolved_);
    if (on_failing_ != nullptr) {
      std::vector<std::string> failing = FailingNames();
      if (failing != failing_before) on_failing_(failing);
    }
  }
}

std::vector<std::string> HostResolver::FailingNames() const {
  std::vector<std::string> names;
  names.reserve(failing_.size());
  for (const auto& [name, why] : failing_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

bool HostResolver::ResolveAll(const std::vector<std::string>& names) {
  ResolvedNames next;
  for (const std::string& name : names) {
    absl::StatusOr<std::vector<std::string>> addresses = lookup_(name);
    if (addresses.ok() && !addresses->empty()) {
      std::sort(addresses->begin(), addresses->end());
      if (failing_.erase(name) > 0) {
        TL_LOG(kInfo, "gateway FQDN resolves again")
            .With("name", name)
            .With("addresses", absl::StrJoin(*addresses, ","));
      }
      next[name] = *std::move(addresses);
      continue;
    }
    const std::string why = addresses.ok()
                                ? absl::StrCat("no address for ", name)
                                : std::string(addresses.status().message());
    auto last = resolved_.find(name);
    if (failing_[name] != why) {
      failing_[name] = why;
      TL_LOG(kWarning, last != resolved_.end()
                           ? "gateway FQDN does not resolve: its last "
                             "addresses stay trusted"
                           : "gateway FQDN does not resolve: requests from "
                             "it are refused until it does")
          .With("name", name)
          .With("detail", why);
    }
    if (last != resolved_.end()) next[name] = last->second;
  }
  absl::erase_if(failing_, [&names](const auto& entry) {
    return std::find(names.begin(), names.end(), entry.first) == names.end();
  });
  if (next == resolved_) return false;
  for (const auto& [name, addresses] : next) {
    auto before = resolved_.find(name);
    if (before == resolved_.end() || before->second != addresses) {
      TL_LOG(kInfo, "gateway FQDN resolved")
          .With("name", name)
          .With("addresses", absl::StrJoin(addresses, ","));
    }
  }
  resolved_ = std::move(next);
  return true;
}

}  // namespace trunkline::signaling
