// A UDP peer address as the socket calls want it, plus the helpers the relay
// needs to compare, print and build one. No allocation.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_ENDPOINT_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_ENDPOINT_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trunkline::media::relay {

struct Endpoint {
  // Large enough for IPv4 and IPv6 (not sockaddr_storage: four of these per
  // stream end, and idle streams should stay small).
  sockaddr_in6 address{};
  socklen_t length = 0;  // 0: unknown

  bool known() const { return length != 0; }
  // Address family, address and port equal (what strict source compares).
  bool operator==(const Endpoint& other) const;
  bool operator!=(const Endpoint& other) const { return !(*this == other); }
  uint16_t port() const;
  std::string ToString() const;  // "192.0.2.1:4000", "[2001:db8::1]:4000"
};

// `address` (an IPv4 or IPv6 literal) and `port`, in the form a socket of
// `family` (AF_INET or AF_INET6) sends to: an IPv4 peer of an IPv6 socket
// becomes a v4-mapped address.
absl::StatusOr<Endpoint> MakeEndpoint(absl::string_view address, uint16_t port,
                                      int family);

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_ENDPOINT_H_
