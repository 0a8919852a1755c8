#include "services/media/relay/udp_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace trunkline::media::relay {

absl::StatusOr<int> BindUdp(int family, const std::string& address,
                            uint16_t port) {
  const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "socket(): ", std::strerror(errno), " (raise the open file limit?)"));
  }
  sockaddr_storage local{};
  socklen_t length;
  if (family == AF_INET) {
    auto& sin = reinterpret_cast<sockaddr_in&>(local);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    inet_pton(AF_INET, address.c_str(), &sin.sin_addr);
    length = sizeof(sin);
  } else {
    auto& sin6 = reinterpret_cast<sockaddr_in6&>(local);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    inet_pton(AF_INET6, address.c_str(), &sin6.sin6_addr);
    const int off = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    const int probe6 = IPV6_PMTUDISC_PROBE;
    setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe6, sizeof(probe6));
    length = sizeof(sin6);
  }
  // IPv4, and an IPv6 socket's IPv4 traffic.
  const int probe = IP_PMTUDISC_PROBE;
  setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe));
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), length) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("bind ", address, ":", port, ": ", std::strerror(error)));
  }
  return fd;
}

}  // namespace trunkline::media::relay
