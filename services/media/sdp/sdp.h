// An SDP (RFC 8866, formerly RFC 4566) model, parser and serializer.
//
// The model keeps what the relay needs typed (o=, s=, c=, m=, attributes in
// order) and carries every other line through untouched, so a rewritten SDP
// loses nothing the relay does not deliberately change:
//
//   ASSIGN_OR_RETURN(SessionDescription sdp, Parse(text));
//   sdp.connection = Connection::ForAddress("192.0.2.10");
//   std::string out = Serialize(sdp);  // CRLF line ends
//
// Parse() accepts LF or CRLF line ends. SDP comes from untrusted peers: every
// problem is an absl::InvalidArgumentError that names the line number and the
// reason ("line 7: m= port '70000' is not in 0..65535"); nothing crashes.
// Attributes the relay acts on (rtpmap, fmtp, crypto, rtcp, ptime, direction,
// rtcp-mux) are checked while parsing; see attributes.h for their typed form.
#ifndef TRUNKLINE_SERVICES_MEDIA_SDP_SDP_H_
#define TRUNKLINE_SERVICES_MEDIA_SDP_SDP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trunkline::media::sdp {

// A line the model does not interpret (i=, u=, e=, p=, b=, t=, r=, z=, k= and
// type letters SDP does not define). Kept verbatim and in order.
struct Line {
  char type = 0;
  std::string value;

  bool operator==(const Line& other) const {
    return type == other.type && value == other.value;
  }
};

// c=<nettype> <addrtype> <address>. `address` keeps a multicast "/ttl/count"
// suffix as written.
struct Connection {
  std::string network_type = "IN";
  std::string address_type = "IP4";
  std::string address;

  // c=IN IP4 <address> or c=IN IP6 <address>, chosen by the address's form.
  static Connection ForAddress(absl::string_view address);
  // 0.0.0.0 or :: : RFC 2543 "hold", RFC 3264 §8.4 "send nothing to me".
  bool IsNullAddress() const;

  bool operator==(const Connection& other) const {
    return network_type == other.network_type &&
           address_type == other.address_type && address == other.address;
  }
};

// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>
struct Origin {
  std::string username = "-";
  std::string session_id = "0";
  std::string session_version = "0";
  std::string network_type = "IN";
  std::string address_type = "IP4";
  std::string address = "0.0.0.0";
};

// a=<name>[:<value>]. A property attribute (a=rtcp-mux) has no value.
struct Attribute {
  std::string name;
  std::optional<std::string> value;

  bool operator==(const Attribute& other) const {
    return name == other.name && value == other.value;
  }
};

// RFC 3264 §5.1: the media direction of a stream.
enum class Direction { kSendRecv, kSendOnly, kRecvOnly, kInactive };

absl::string_view DirectionName(Direction direction);
std::optional<Direction> DirectionFromName(absl::string_view name);

// The a= lines of one section, in their original order.
class AttributeList {
 public:
  const std::vector<Attribute>& items() const { return items_; }
  bool empty() const { return items_.empty(); }

  // The first attribute called `name`, or nullptr.
  const Attribute* Find(absl::string_view name) const;
  std::vector<const Attribute*> FindAll(absl::string_view name) const;
  bool Has(absl::string_view name) const { return Find(name) != nullptr; }

  void Add(absl::string_view name);
  void Add(absl::string_view name, absl::string_view value);
  // Removes every attribute called `name`; returns how many went.
  int RemoveAll(absl::string_view name);
  template <typename Predicate>
  int RemoveIf(Predicate predicate);
  void Clear() { items_.clear(); }

  // The direction attribute of this section, if any.
  std::optional<Direction> direction() const;
  // Replaces the direction attribute in place (or appends one), so the
  // attribute order the peer chose survives a hold/resume.
  void SetDirection(Direction direction);

 private:
  std::vector<Attribute> items_;
};

// One m= section.
struct MediaDescription {
  std::string media;  // "audio", "video", "image", ...
  uint32_t port = 0;
  std::optional<uint32_t> port_count;  // m=audio 5004/2 ...
  std::string proto;                   // "RTP/AVP", "RTP/SAVPF", ...
  std::vector<std::string> formats;    // payload types for RTP, in order
  std::optional<Connection> connection;
  std::vector<Line> other_lines;  // i=, b=, k=, unknown
  AttributeList attributes;
};

struct SessionDescription {
  Origin origin;
  std::string session_name = "-";
  std::optional<Connection> connection;
  std::vector<Line> other_lines;  // i= u= e= p= b= t= r= z= k=, unknown
  AttributeList attributes;
  std::vector<MediaDescription> media;
};

absl::StatusOr<SessionDescription> Parse(absl::string_view text);

// Writes the fields in RFC 8866 §5 order with CRLF line ends. Unknown lines
// keep their order relative to each other.
std::string Serialize(const SessionDescription& sdp);

// The c= that applies to `media`: its own, else the session's, else nullptr.
const Connection* EffectiveConnection(const SessionDescription& sdp,
                                      const MediaDescription& media);
// The direction that applies to `media`: its own attribute, else the
// session's, else sendrecv (RFC 3264 §5.1).
Direction EffectiveDirection(const SessionDescription& sdp,
                             const MediaDescription& media);

// ---------------------------------------------------------------------------

template <typename Predicate>
int AttributeList::RemoveIf(Predicate predicate) {
  int removed = 0;
  std::vector<Attribute> kept;
  kept.reserve(items_.size());
  for (Attribute& attribute : items_) {
    if (predicate(attribute)) {
      ++removed;
    } else {
      kept.push_back(std::move(attribute));
    }
  }
  items_ = std::move(kept);
  return removed;
}

}  // namespace trunkline::media::sdp

#endif  // TRUNKLINE_SERVICES_MEDIA_SDP_SDP_H_
