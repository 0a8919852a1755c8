// A minimal client of rtpengine's ng control protocol (bencoded dictionaries
// over UDP, each message prefixed with a cookie), enough for rtpload to
// allocate calls on a stock rtpengine for comparison: offer, answer, delete.
#ifndef TRUNKLINE_TOOLS_RTPLOAD_NG_CLIENT_H_
#define TRUNKLINE_TOOLS_RTPLOAD_NG_CLIENT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace trunkline::rtpload {

// A bencode value of the kinds the ng protocol uses.
struct Bencode {
  enum class Kind { kString, kInteger, kList, kDict } kind = Kind::kString;
  std::string string;
  long long integer = 0;
  std::vector<Bencode> list;
  std::map<std::string, Bencode> dict;

  static Bencode Str(std::string s);
  static Bencode List(std::vector<Bencode> items);
  static Bencode Dict(std::map<std::string, Bencode> items);
};

std::string Encode(const Bencode& value);
// Parses one value from the start of `text`; the rest is ignored.
absl::StatusOr<Bencode> Decode(const std::string& text);

class NgClient {
 public:
  // `address` is "host:port" of rtpengine's --listen-ng.
  static absl::StatusOr<std::unique_ptr<NgClient>> Connect(
      const std::string& address);
  ~NgClient();
  // Sends one command and waits (up to 2 s) for its reply; fails unless the
  // reply's "result" is "ok".
  absl::StatusOr<Bencode> Call(const Bencode& command);

 private:
  int fd_ = -1;
  unsigned cookie_ = 0;
};

}  // namespace trunkline::rtpload

#endif  // TRUNKLINE_TOOLS_RTPLOAD_NG_CLIENT_H_
