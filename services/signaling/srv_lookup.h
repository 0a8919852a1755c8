// DNS SRV records (RFC 2782) of gateways located by SRV (their dnsSrv), so
// that requests from them are trusted from where requests to them go. The
// SIP stack (Sofia's nta) does its own RFC 3263 lookups for the requests it
// sends; this is only the other direction: which source addresses are the
// gateway's.
#ifndef TRUNKLINE_SERVICES_SIGNALING_SRV_LOOKUP_H_
#define TRUNKLINE_SERVICES_SIGNALING_SRV_LOOKUP_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trunkline/v1/topology.pb.h"

namespace trunkline::signaling {

struct SrvRecord {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;  // without the trailing dot; "." when none
};

// The SRV name RFC 3263 section 4.1 looks up for a domain and transport:
// "_sip._udp.<domain>", "_sip._tcp.<domain>" or "_sips._tcp.<domain>".
std::string SrvName(const std::string& domain, v1::Transport transport);

// Whether `name` is one SrvName makes, and the domain in it.
bool IsSrvName(const std::string& name);
std::string SrvDomain(const std::string& srv_name);

// The SRV records in the answer section of a DNS response (as res_query
// returns it), or why it cannot be read.
absl::StatusOr<std::vector<SrvRecord>> ParseSrvAnswer(const unsigned char* msg,
                                                      int length);

// The system resolver's SRV records for `name` (/etc/resolv.conf): none
// when the name does not exist or has no SRV records; an error when no DNS
// server answered.
absl::StatusOr<std::vector<SrvRecord>> QuerySrv(const std::string& name);

// Every address requests to the SRV name `srv_name` may go to: the A and
// AAAA addresses of each target of its records, or, with no records, of its
// domain (RFC 3263's fallback). A target that does not resolve is left out
// while another does; an error when none does, or when the records say the
// service is not offered (a single target "."). Sorted, without repeats.
using SrvQuery =
    std::function<absl::StatusOr<std::vector<SrvRecord>>(const std::string&)>;
using AddressQuery =
    std::function<absl::StatusOr<std::vector<std::string>>(const std::string&)>;
absl::StatusOr<std::vector<std::string>> SrvAddresses(
    const std::string& srv_name, const SrvQuery& query_srv,
    const AddressQuery& query_addresses);

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_SRV_LOOKUP_H_
