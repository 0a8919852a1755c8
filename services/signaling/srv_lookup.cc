#include "services/signaling/srv_lookup.h"

#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace trunkline::signaling {
namespace {

constexpr absl::string_view kSipUdp = "_sip._udp.";
constexpr absl::string_view kSipTcp = "_sip._tcp.";
constexpr absl::string_view kSipsTcp = "_sips._tcp.";

// An SRV answer larger than this is truncated over UDP and retried over TCP
// by the resolver; 64 KiB is the most DNS carries.
constexpr int kMaxAnswer = 65536;

}  // namespace

std::string SrvName(const std::string& domain, v1::Transport transport) {
  switch (transport) {
    case v1::TRANSPORT_TCP:
      return absl::StrCat(kSipTcp, domain);
    case v1::TRANSPORT_TLS:
      return absl::StrCat(kSipsTcp, domain);
    default:
      return absl::StrCat(kSipUdp, domain);
  }
}

bool IsSrvName(const std::string& name) {
  return absl::StartsWith(name, kSipUdp) || absl::StartsWith(name, kSipTcp) ||
         absl::StartsWith(name, kSipsTcp);
}

std::string SrvDomain(const std::string& srv_name) {
  absl::string_view rest = srv_name;
  if (!absl::ConsumePrefix(&rest, kSipUdp) &&
      !absl::ConsumePrefix(&rest, kSipTcp)) {
    absl::ConsumePrefix(&rest, kSipsTcp);
  }
  return std::string(rest);
}

absl::StatusOr<std::vector<SrvRecord>> ParseSrvAnswer(const unsigned char* msg,
                                                      int length) {
  ns_msg handle;
  if (ns_initparse(msg, length, &handle) != 0) {
    return absl::InvalidArgumentError("malformed DNS response");
  }
  std::vector<SrvRecord> records;
  const int count = ns_msg_count(handle, ns_s_an);
  for (int i = 0; i < count; ++i) {
    ns_rr rr;
    if (ns_parserr(&handle, ns_s_an, i, &rr) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed DNS response: answer ", i + 1));
    }
    // CNAMEs and the like may come first; only SRV records count.
    if (ns_rr_type(rr) != ns_t_srv || ns_rr_class(rr) != ns_c_in) continue;
    const unsigned char* rdata = ns_rr_rdata(rr);
    if (ns_rr_rdlen(rr) < 7) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed SRV record: answer ", i + 1));
    }
    SrvRecord r;
    r.priority = ns_get16(rdata);
    r.weight = ns_get16(rdata + 2);
    r.port = ns_get16(rdata + 4);
    char target[NS_MAXDNAME];
    // The name must end where the record does (compression may point
    // elsewhere in the message, but the record's own bytes are exact).
    if (dn_expand(ns_msg_base(handle), ns_msg_end(handle), rdata + 6, target,
                  sizeof target) != ns_rr_rdlen(rr) - 6) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed SRV target: answer ", i + 1));
    }
    // dn_expand gives the root as "" and other names without the final dot.
    r.target = target[0] == '\0' ? "." : target;
    records.push_back(std::move(r));
  }
  return records;
}

absl::StatusOr<std::vector<SrvRecord>> QuerySrv(const std::string& name) {
  // A resolver state of this call's own: lookups run on several threads.
  struct __res_state state;
  std::memset(&state, 0, sizeof state);
  if (res_ninit(&state) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot look up SRV ", name,
                     ": the resolver cannot start (/etc/resolv.conf)"));
  }
  std::vector<unsigned char> answer(kMaxAnswer);
  const int length = res_nquery(&state, name.c_str(), ns_c_in, ns_t_srv,
                                answer.data(), kMaxAnswer);
  const int error = state.res_h_errno;
  res_nclose(&state);
  if (length < 0) {
    // NXDOMAIN and NODATA: the name has no SRV records, an answer in itself.
    if (error == HOST_NOT_FOUND || error == NO_DATA) {
      return std::vector<SrvRecord>{};
    }
    return absl::UnavailableError(
        absl::StrCat("cannot look up SRV ", name, ": ", hstrerror(error),
                     error == TRY_AGAIN ? " (no DNS server answered)" : ""));
  }
  return ParseSrvAnswer(answer.data(), length);
}

absl::StatusOr<std::vector<std::string>> SrvAddresses(
    const std::string& srv_name, const SrvQuery& query_srv,
    const AddressQuery& query_addresses) {
  absl::StatusOr<std::vector<SrvRecord>> records = query_srv(srv_name);
  if (!records.ok()) return records.status();
  if (records->empty()) {
    // RFC 3263 section 4.2: no SRV records, so requests go to the domain's
    // own A and AAAA addresses.
    absl::StatusOr<std::vector<std::string>> own =
        query_addresses(SrvDomain(srv_name));
    if (!own.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "no SRV records for ", srv_name, ", and ", own.status().message()));
    }
    return own;
  }
  if (records->size() == 1 && (*records)[0].target == ".") {
    return absl::UnavailableError(
        absl::StrCat(srv_name,
                     ": the SRV record says the service is not "
                     "offered (target \".\")"));
  }
  std::vector<std::string> addresses;
  std::vector<std::string> failures;
  for (const SrvRecord& r : *records) {
    if (r.target == ".") continue;
    absl::StatusOr<std::vector<std::string>> found = query_addresses(r.target);
    if (!found.ok()) {
      failures.emplace_back(found.status().message());
      continue;
    }
    addresses.insert(addresses.end(), found->begin(), found->end());
  }
  if (addresses.empty()) {
    return absl::UnavailableError(
        absl::StrCat("no SRV target of ", srv_name,
                     " resolves: ", absl::StrJoin(failures, "; ")));
  }
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()),
                  addresses.end());
  return addresses;
}

}  // namespace trunkline::signaling
