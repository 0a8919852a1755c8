#include "services/media/sdp/sdp.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/status_macros.h"
#include "services/media/sdp/attributes.h"

namespace trunkline::media::sdp {
namespace {

// Fields that RFC 8866 §5 puts before c= in each section. Unknown lines go
// after c=, so an unknown line written before c= moves past it; nothing else
// moves.
bool SessionFieldBeforeConnection(char type) {
  return type == 'i' || type == 'u' || type == 'e' || type == 'p';
}
bool MediaFieldBeforeConnection(char type) { return type == 'i'; }

std::vector<absl::string_view> Words(absl::string_view text) {
  // SDP separates fields with one space; some stacks write two. Tolerate it.
  return absl::StrSplit(text, ' ', absl::SkipEmpty());
}

absl::Status LineError(int line_number, absl::string_view reason) {
  return absl::InvalidArgumentError(
      absl::StrCat("SDP line ", line_number, ": ", reason));
}

bool IsDigits(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::StatusOr<Connection> ParseConnection(absl::string_view value) {
  std::vector<absl::string_view> words = Words(value);
  if (words.size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "c= needs '<nettype> <addrtype> <address>', got '", value, "'"));
  }
  Connection connection;
  connection.network_type = std::string(words[0]);
  connection.address_type = std::string(words[1]);
  connection.address = std::string(words[2]);
  if (connection.network_type != "IN") {
    return absl::InvalidArgumentError(absl::StrCat(
        "c= network type '", connection.network_type, "' is not IN"));
  }
  if (connection.address_type != "IP4" && connection.address_type != "IP6") {
    return absl::InvalidArgumentError(absl::StrCat(
        "c= address type '", connection.address_type, "' is not IP4 or IP6"));
  }
  return connection;
}

absl::StatusOr<Origin> ParseOrigin(absl::string_view value) {
  std::vector<absl::string_view> words = Words(value);
  if (words.size() != 6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "o= needs 6 fields '<username> <sess-id> <sess-version> <nettype> "
        "<addrtype> <address>', got ",
        words.size()));
  }
  if (!IsDigits(words[1]) || !IsDigits(words[2])) {
    return absl::InvalidArgumentError(
        absl::StrCat("o= session id and version must be numbers, got '",
                     words[1], "' and '", words[2], "'"));
  }
  Origin origin;
  origin.username = std::string(words[0]);
  origin.session_id = std::string(words[1]);
  origin.session_version = std::string(words[2]);
  origin.network_type = std::string(words[3]);
  origin.address_type = std::string(words[4]);
  origin.address = std::string(words[5]);
  return origin;
}

absl::StatusOr<uint32_t> ParsePort(absl::string_view text) {
  uint32_t port = 0;
  if (!IsDigits(text) || text.size() > 5 || !absl::SimpleAtoi(text, &port) ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("m= port '", text, "' is not in 0..65535"));
  }
  return port;
}

absl::StatusOr<MediaDescription> ParseMediaLine(absl::string_view value) {
  std::vector<absl::string_view> words = Words(value);
  if (words.size() < 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "m= needs '<media> <port> <proto> <fmt> ...', got '", value, "'"));
  }
  MediaDescription media;
  media.media = std::string(words[0]);
  std::pair<absl::string_view, absl::string_view> port_and_count =
      absl::StrSplit(words[1], absl::MaxSplits('/', 1));
  ASSIGN_OR_RETURN(media.port, ParsePort(port_and_count.first));
  if (absl::StrContains(words[1], '/')) {
    uint32_t count = 0;
    if (!IsDigits(port_and_count.second) ||
        !absl::SimpleAtoi(port_and_count.second, &count) || count == 0 ||
        count > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "m= port count '", port_and_count.second, "' is not a number >= 1"));
    }
    media.port_count = count;
  }
  media.proto = std::string(words[2]);
  for (size_t i = 3; i < words.size(); ++i) {
    media.formats.emplace_back(words[i]);
  }
  return media;
}

Attribute ParseAttribute(absl::string_view value) {
  Attribute attribute;
  size_t colon = value.find(':');
  if (colon == absl::string_view::npos) {
    attribute.name = std::string(value);
  } else {
    attribute.name = std::string(value.substr(0, colon));
    attribute.value = std::string(value.substr(colon + 1));
  }
  return attribute;
}

absl::Status CheckAttributeName(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("a= has no name");
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= ' ' || u >= 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attribute name '", name, "' has a space or control character"));
    }
  }
  return absl::OkStatus();
}

// Splits on LF; a CR before the LF belongs to the line end. Returns the lines
// without their ends. A final line without LF still counts.
std::vector<absl::string_view> SplitLines(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (absl::string_view& line : lines) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  }
  return lines;
}

absl::Status CheckCharacters(absl::string_view line) {
  for (char c : line) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t') {
      return absl::InvalidArgumentError(
          absl::StrCat("control character 0x", absl::Hex(u, absl::kZeroPad2),
                       " in the line (a bare CR, NUL or binary data)"));
    }
  }
  return absl::OkStatus();
}

void AppendLine(std::string& out, char type, absl::string_view value) {
  out.push_back(type);
  out.push_back('=');
  out.append(value.data(), value.size());
  out.append("\r\n");
}

std::string FormatConnection(const Connection& connection) {
  return absl::StrCat(connection.network_type, " ", connection.address_type,
                      " ", connection.address);
}

void AppendAttributes(std::string& out, const AttributeList& attributes) {
  for (const Attribute& attribute : attributes.items()) {
    if (attribute.value.has_value()) {
      AppendLine(out, 'a', absl::StrCat(attribute.name, ":", *attribute.value));
    } else {
      AppendLine(out, 'a', attribute.name);
    }
  }
}

}  // namespace

Connection Connection::ForAddress(absl::string_view address) {
  Connection connection;
  connection.address_type = absl::StrContains(address, ':') ? "IP6" : "IP4";
  connection.address = std::string(address);
  return connection;
}

bool Connection::IsNullAddress() const {
  return address == "0.0.0.0" || address == "::";
}

absl::string_view DirectionName(Direction direction) {
  switch (direction) {
    case Direction::kSendRecv:
      return "sendrecv";
    case Direction::kSendOnly:
      return "sendonly";
    case Direction::kRecvOnly:
      return "recvonly";
    case Direction::kInactive:
      return "inactive";
  }
  return "sendrecv";
}

std::optional<Direction> DirectionFromName(absl::string_view name) {
  if (name == "sendrecv") return Direction::kSendRecv;
  if (name == "sendonly") return Direction::kSendOnly;
  if (name == "recvonly") return Direction::kRecvOnly;
  if (name == "inactive") return Direction::kInactive;
  return std::nullopt;
}

const Attribute* AttributeList::Find(absl::string_view name) const {
  for (const Attribute& attribute : items_) {
    if (attribute.name == name) return &attribute;
  }
  return nullptr;
}

std::vector<const Attribute*> AttributeList::FindAll(
    absl::string_view name) const {
  std::vector<const Attribute*> found;
  for (const Attribute& attribute : items_) {
    if (attribute.name == name) found.push_back(&attribute);
  }
  return found;
}

void AttributeList::Add(absl::string_view name) {
  items_.push_back(Attribute{std::string(name), std::nullopt});
}

void AttributeList::Add(absl::string_view name, absl::string_view value) {
  items_.push_back(Attribute{std::string(name), std::string(value)});
}

int AttributeList::RemoveAll(absl::string_view name) {
  return RemoveIf(
      [name](const Attribute& attribute) { return attribute.name == name; });
}

std::optional<Direction> AttributeList::direction() const {
  for (const Attribute& attribute : items_) {
    if (std::optional<Direction> direction = DirectionFromName(attribute.name);
        direction.has_value() && !attribute.value.has_value()) {
      return direction;
    }
  }
  return std::nullopt;
}

void AttributeList::SetDirection(Direction direction) {
  bool replaced = false;
  RemoveIf([&replaced, direction](Attribute& attribute) {
    if (!DirectionFromName(attribute.name).has_value()) return false;
    if (replaced) return true;  // a second direction attribute: drop it
    attribute.name = std::string(DirectionName(direction));
    attribute.value.reset();
    replaced = true;
    return false;
  });
  if (!replaced) Add(DirectionName(direction));
}

absl::StatusOr<SessionDescription> Parse(absl::string_view text) {
  std::vector<absl::string_view> lines = SplitLines(text);
  SessionDescription sdp;
  MediaDescription* media = nullptr;  // the m= section being read, if any
  bool seen_version = false;
  bool seen_origin = false;
  bool seen_name = false;

  for (size_t index = 0; index < lines.size(); ++index) {
    const int number = static_cast<int>(index) + 1;
    absl::string_view line = lines[index];
    if (line.empty()) continue;  // trailing or stray blank lines carry nothing
    if (absl::Status status = CheckCharacters(line); !status.ok()) {
      return LineError(number, status.message());
    }
    if (line.size() < 2 || line[1] != '=' ||
        !absl::ascii_islower(static_cast<unsigned char>(line[0]))) {
      return LineError(number,
                       absl::StrCat("expected '<letter>=<value>', got '",
                                    line.substr(0, 40), "'"));
    }
    const char type = line[0];
    const absl::string_view value = line.substr(2);

    // v=, o=, s= open every SDP in this order (RFC 8866 §5).
    if (!seen_version) {
      if (type != 'v') return LineError(number, "SDP must start with v=0");
      if (value != "0") {
        return LineError(number,
                         absl::StrCat("unsupported SDP version '", value, "'"));
      }
      seen_version = true;
      continue;
    }
    if (!seen_origin) {
      if (type != 'o') return LineError(number, "expected o= after v=");
      absl::StatusOr<Origin> origin = ParseOrigin(value);
      if (!origin.ok()) return LineError(number, origin.status().message());
      sdp.origin = *std::move(origin);
      seen_origin = true;
      continue;
    }
    if (!seen_name) {
      if (type != 's') return LineError(number, "expected s= after o=");
      sdp.session_name = std::string(value);
      seen_name = true;
      continue;
    }

    switch (type) {
      case 'v':
      case 'o':
      case 's':
        return LineError(
            number, absl::StrCat("duplicate ", std::string(1, type), "= line"));
      case 'm': {
        absl::StatusOr<MediaDescription> parsed = ParseMediaLine(value);
        if (!parsed.ok()) return LineError(number, parsed.status().message());
        sdp.media.push_back(*std::move(parsed));
        media = &sdp.media.back();
        break;
      }
      case 'c': {
        std::optional<Connection>& slot =
            media != nullptr ? media->connection : sdp.connection;
        if (slot.has_value()) {
          return LineError(number, media != nullptr
                                       ? "second c= line in an m= section"
                                       : "second c= line at session level");
        }
        absl::StatusOr<Connection> connection = ParseConnection(value);
        if (!connection.ok()) {
          return LineError(number, connection.status().message());
        }
        slot = *std::move(connection);
        break;
      }
      case 'a': {
        Attribute attribute = ParseAttribute(value);
        if (absl::Status status = CheckAttributeName(attribute.name);
            !status.ok()) {
          return LineError(number, status.message());
        }
        if (absl::Status status = ValidateAttribute(attribute); !status.ok()) {
          return LineError(number, status.message());
        }
        AttributeList& list =
            media != nullptr ? media->attributes : sdp.attributes;
        if (attribute.value.has_value()) {
          list.Add(attribute.name, *attribute.value);
        } else {
          list.Add(attribute.name);
        }
        break;
      }
      default: {
        std::vector<Line>& other =
            media != nullptr ? media->other_lines : sdp.other_lines;
        other.push_back(Line{type, std::string(value)});
        break;
      }
    }
  }

  if (!seen_version) return absl::InvalidArgumentError("SDP is empty");
  if (!seen_origin) return absl::InvalidArgumentError("SDP has no o= line");
  if (!seen_name) return absl::InvalidArgumentError("SDP has no s= line");
  return sdp;
}

std::string Serialize(const SessionDescription& sdp) {
  std::string out;
  AppendLine(out, 'v', "0");
  const Origin& o = sdp.origin;
  AppendLine(out, 'o',
             absl::StrJoin({o.username, o.session_id, o.session_version,
                            o.network_type, o.address_type, o.address},
                           " "));
  AppendLine(out, 's', sdp.session_name);
  for (const Line& line : sdp.other_lines) {
    if (SessionFieldBeforeConnection(line.type)) {
      AppendLine(out, line.type, line.value);
    }
  }
  if (sdp.connection.has_value()) {
    AppendLine(out, 'c', FormatConnection(*sdp.connection));
  }
  for (const Line& line : sdp.other_lines) {
    if (!SessionFieldBeforeConnection(line.type)) {
      AppendLine(out, line.type, line.value);
    }
  }
  AppendAttributes(out, sdp.attributes);

  for (const MediaDescription& media : sdp.media) {
    std::string port = absl::StrCat(media.port);
    if (media.port_count.has_value()) {
      absl::StrAppend(&port, "/", *media.port_count);
    }
    std::string m = absl::StrCat(media.media, " ", port, " ", media.proto);
    for (const std::string& format : media.formats) {
      absl::StrAppend(&m, " ", format);
    }
    AppendLine(out, 'm', m);
    for (const Line& line : media.other_lines) {
      if (MediaFieldBeforeConnection(line.type)) {
        AppendLine(out, line.type, line.value);
      }
    }
    if (media.connection.has_value()) {
      AppendLine(out, 'c', FormatConnection(*media.connection));
    }
    for (const Line& line : media.other_lines) {
      if (!MediaFieldBeforeConnection(line.type)) {
        AppendLine(out, line.type, line.value);
      }
    }
    AppendAttributes(out, media.attributes);
  }
  return out;
}

const Connection* EffectiveConnection(const SessionDescription& sdp,
                                      const MediaDescription& media) {
  if (media.connection.has_value()) return &*media.connection;
  if (sdp.connection.has_value()) return &*sdp.connection;
  return nullptr;
}

Direction EffectiveDirection(const SessionDescription& sdp,
                             const MediaDescription& media) {
  if (std::optional<Direction> own = media.attributes.direction()) return *own;
  if (std::optional<Direction> session = sdp.attributes.direction()) {
    return *session;
  }
  return Direction::kSendRecv;
}

}  // namespace trunkline::media::sdp
