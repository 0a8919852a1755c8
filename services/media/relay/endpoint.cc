#include "services/media/relay/endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace trunkline::media::relay {

bool Endpoint::operator==(const Endpoint& other) const {
  if (length != other.length) return false;
  if (length == 0) return true;
  if (address.sin6_family != other.address.sin6_family) return false;
  if (address.sin6_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(address);
    const auto& b = reinterpret_cast<const sockaddr_in&>(other.address);
    return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
  }
  const auto& a = reinterpret_cast<const sockaddr_in6&>(address);
  const auto& b = reinterpret_cast<const sockaddr_in6&>(other.address);
  return a.sin6_port == b.sin6_port &&
         std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof(a.sin6_addr)) == 0;
}

uint16_t Endpoint::port() const {
  if (length == 0) return 0;
  if (address.sin6_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
}

std::string Endpoint::ToString() const {
  if (length == 0) return "(unknown)";
  char text[INET6_ADDRSTRLEN] = {};
  if (address.sin6_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr,
              text, sizeof(text));
    return absl::StrCat(text, ":", port());
  }
  inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr,
            text, sizeof(text));
  return absl::StrCat("[", text, "]:", port());
}

absl::StatusOr<Endpoint> MakeEndpoint(absl::string_view address, uint16_t port,
                                      int family) {
  const std::string text(address);
  Endpoint endpoint;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    if (family == AF_INET) {
      auto& sin = reinterpret_cast<sockaddr_in&>(endpoint.address);
      sin.sin_family = AF_INET;
      sin.sin_port = htons(port);
      sin.sin_addr = v4;
      endpoint.length = sizeof(sockaddr_in);
      return endpoint;
    }
    auto& sin6 = reinterpret_cast<sockaddr_in6&>(endpoint.address);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    sin6.sin6_addr.s6_addr[10] = 0xff;
    sin6.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&sin6.sin6_addr.s6_addr[12], &v4, 4);
    endpoint.length = sizeof(sockaddr_in6);
    return endpoint;
  }
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (family != AF_INET6) {
      return absl::FailedPreconditionError(
          absl::StrCat("peer address ", text,
                       " is IPv6 but the relay's media sockets are IPv4: set "
                       "--rtp_bind_address to an IPv6 address (:: for both)"));
    }
    auto& sin6 = reinterpret_cast<sockaddr_in6&>(endpoint.address);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    sin6.sin6_addr = v6;
    endpoint.length = sizeof(sockaddr_in6);
    return endpoint;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not an IPv4 or IPv6 address literal"));
}

}  // namespace trunkline::media::relay
