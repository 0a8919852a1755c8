#include "tools/rtpload/ng_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace trunkline::rtpload {
namespace {

absl::StatusOr<Bencode> DecodeAt(const std::string& text, size_t* at) {
  if (*at >= text.size()) return absl::InvalidArgumentError("bencode: short");
  const char c = text[*at];
  Bencode value;
  if (c == 'i') {
    const size_t end = text.find('e', *at);
    if (end == std::string::npos)
      return absl::InvalidArgumentError("bencode: int");
    value.kind = Bencode::Kind::kInteger;
    if (!absl::SimpleAtoi(text.substr(*at + 1, end - *at - 1),
                          &value.integer)) {
      return absl::InvalidArgumentError("bencode: int");
    }
    *at = end + 1;
    return value;
  }
  if (c == 'l' || c == 'd') {
    ++*at;
    value.kind = c == 'l' ? Bencode::Kind::kList : Bencode::Kind::kDict;
    while (*at < text.size() && text[*at] != 'e') {
      auto first = DecodeAt(text, at);
      if (!first.ok()) return first.status();
      if (c == 'l') {
        value.list.push_back(*std::move(first));
      } else {
        auto second = DecodeAt(text, at);
        if (!second.ok()) return second.status();
        value.dict[first->string] = *std::move(second);
      }
    }
    if (*at >= text.size()) return absl::InvalidArgumentError("bencode: open");
    ++*at;
    return value;
  }
  const size_t colon = text.find(':', *at);
  size_t length = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(text.substr(*at, colon - *at), &length) ||
      colon + 1 + length > text.size()) {
    return absl::InvalidArgumentError("bencode: string");
  }
  value.string = text.substr(colon + 1, length);
  *at = colon + 1 + length;
  return value;
}

}  // namespace

Bencode Bencode::Str(std::string s) {
  Bencode b;
  b.string = std::move(s);
  return b;
}
Bencode Bencode::List(std::vector<Bencode> items) {
  Bencode b;
  b.kind = Kind::kList;
  b.list = std::move(items);
  return b;
}
Bencode Bencode::Dict(std::map<std::string, Bencode> items) {
  Bencode b;
  b.kind = Kind::kDict;
  b.dict = std::move(items);
  return b;
}

std::string Encode(const Bencode& value) {
  switch (value.kind) {
    case Bencode::Kind::kString:
      return absl::StrCat(value.string.size(), ":", value.string);
    case Bencode::Kind::kInteger:
      return absl::StrCat("i", value.integer, "e");
    case Bencode::Kind::kList: {
      std::string out = "l";
      for (const Bencode& item : value.list) out += Encode(item);
      return out + "e";
    }
    case Bencode::Kind::kDict: {
      std::string out = "d";  // std::map keeps the keys sorted, as required
      for (const auto& [key, item] : value.dict) {
        out += Encode(Bencode::Str(key)) + Encode(item);
      }
      return out + "e";
    }
  }
  return "";
}

absl::StatusOr<Bencode> Decode(const std::string& text) {
  size_t at = 0;
  return DecodeAt(text, &at);
}

absl::StatusOr<std::unique_ptr<NgClient>> NgClient::Connect(
    const std::string& address) {
  std::vector<std::string> parts = absl::StrSplit(address, ':');
  int port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rtpengine '", address, "' is not host:port"));
  }
  auto client = std::unique_ptr<NgClient>(new NgClient());
  client->fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(uint16_t(port));
  inet_pton(AF_INET, parts[0].c_str(), &sin.sin_addr);
  if (connect(client->fd_, reinterpret_cast<sockaddr*>(&sin), sizeof(sin))) {
    return absl::UnavailableError("cannot reach rtpengine's ng port");
  }
  client->cookie_ = unsigned(getpid()) << 12;
  return client;
}

NgClient::~NgClient() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<Bencode> NgClient::Call(const Bencode& command) {
  const std::string cookie = absl::StrCat(++cookie_);
  const std::string message = absl::StrCat(cookie, " ", Encode(command));
  send(fd_, message.data(), message.size(), 0);
  pollfd p{fd_, POLLIN, 0};
  while (poll(&p, 1, 2000) > 0) {
    char buffer[65536];
    const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    std::string reply(buffer, size_t(n));
    const size_t space = reply.find(' ');
    if (space == std::string::npos || reply.substr(0, space) != cookie)
      continue;
    auto value = Decode(reply.substr(space + 1));
    if (!value.ok()) return value.status();
    auto result = value->dict.find("result");
    if (result == value->dict.end() || result->second.string != "ok") {
      auto reason = value->dict.find("error-reason");
      return absl::InternalError(absl::StrCat(
          "rtpengine refused: ",
          reason == value->dict.end() ? reply : reason->second.string));
    }
    return value;
  }
  return absl::DeadlineExceededError("rtpengine did not answer in 2 s");
}

}  // namespace trunkline::rtpload
