// The addresses behind the FQDNs of gateways given by name only (no
// `address`), so that requests from them are trusted by source address as
// from a gateway given by address (Lync and Teams resolve a gateway's FQDN
// the same way). A and AAAA through getaddrinfo (/etc/hosts, then DNS); for
// a gateway located by SRV (its dnsSrv) the name asked for is its SRV name
// (srv_lookup.h), whose targets' addresses are the answer:
// at once for a new set of names, then again every `refresh`, since a
// provider moves its SBCs. A name that stops resolving keeps its last
// addresses (a DNS outage must not cut a trunk off) until it is no longer
// asked for; one never resolved trusts nothing.
//
// Resolution blocks, so it runs on a thread of its own, with up to
// kParallelLookups lookups of a pass at a time on threads of the pass: each
// answer is taken as it comes, so a name whose DNS server is slow to answer
// (glibc waits seconds per server and attempt) holds up no other name's
// update. `on_change` is called on the resolver's thread, with every name's
// addresses, whenever any of them changed, and `on_failing` (when given)
// with the names whose last lookup failed, whenever that set changed (a
// name kept on its last addresses is in it).
#ifndef TRUNKLINE_SERVICES_SIGNALING_HOST_RESOLVER_H_
#define TRUNKLINE_SERVICES_SIGNALING_HOST_RESOLVER_H_

#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace trunkline::signaling {

// Name -> its addresses (sorted, IPv4 and IPv6 text).
using ResolvedNames =
    absl::flat_hash_map<std::string, std::vector<std::string>>;

class HostResolver {
 public:
  using Lookup = std::function<absl::StatusOr<std::vector<std::string>>(
      const std::string& name)>;
  using OnChange = std::function<void(const ResolvedNames&)>;
  // Sorted names.
  using OnFailing = std::function<void(const std::vector<std::string>&)>;

  // The system's resolver: every A and AAAA address of `name` (of its SRV
  // targets, for an SRV name: srv_lookup.h), or why not.
  static absl::StatusOr<std::vector<std::string>> SystemLookup(
      const std::string& name);

  HostResolver(absl::Duration refresh, Lookup lookup, OnChange on_change,
               OnFailing on_failing = nullptr);
  ~HostResolver();
  HostResolver(const HostResolver&) = delete;
  HostResolver& operator=(const HostResolver&) = delete;

  // The names to keep resolved (any thread); resolved at once when they
  // differ from the last set.
  void SetNames(std::vector<std::string> names);

  static constexpr size_t kParallelLookups = 8;

 private:
  using Answer = absl::StatusOr<std::vector<std::string>>;
  void Run();
  // One pass over `names`, reporting as the answers come.
  void ResolvePass(const std::vector<std::string>& names);
  // Takes one name's answer; true when its addresses changed.
  bool Take(const std::string& name, Answer answer);
  // Reports the failing names when they differ from `before`.
  void ReportFailing(const std::vector<std::string>& before);
  std::vector<std::string> FailingNames() const;

  const absl::Duration refresh_;
  const Lookup lookup_;
  const OnChange on_change_;
  const OnFailing on_failing_;
  absl::Mutex mu_;
  std::vector<std::string> names_ ABSL_GUARDED_BY(mu_);
  bool names_changed_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // A pass's answers, by the index of their name, as the lookups finish.
  absl::Mutex answers_mu_;
  std::vector<std::pair<size_t, Answer>> answers_ ABSL_GUARDED_BY(answers_mu_);
  // The resolver thread's own.
  ResolvedNames resolved_;
  absl::flat_hash_map<std::string, std::string> failing_;  // name -> why
  std::thread thread_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_HOST_RESOLVER_H_
