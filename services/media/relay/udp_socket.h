// The relay's UDP sockets: how each is opened and bound.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_UDP_SOCKET_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_UDP_SOCKET_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace trunkline::media::relay {

// A non-blocking UDP socket of `family` (AF_INET, or AF_INET6 taking IPv4
// too) bound to `address`:`port`; the caller closes it. Its datagrams leave
// with don't-fragment set and no path MTU discovery (IP_PMTUDISC_PROBE):
// RTP is packetized to fit the MTU, and a datagram marked DF needs no IP
// identification (RFC 6864), which the kernel otherwise hashes out for
// every packet (2% of a worker's CPU relaying paced RTP).
absl::StatusOr<int> BindUdp(int family, const std::string& address,
                            uint16_t port);

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_UDP_SOCKET_H_
