#include "services/media/sdp/rewriter.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "services/common/status_macros.h"

namespace trunkline::media::sdp {
namespace {

using trunkline::v1::SrtpMode;

// What an m= proto says about transport and security.
struct Profile {
  bool rtp = false;       // an RTP profile the relay can terminate
  bool secure = false;    // SAVP / SAVPF: SRTP is mandatory
  bool feedback = false;  // AVPF / SAVPF (RFC 4585)
  bool dtls = false;      // UDP/TLS/RTP/...: keys come from DTLS, not SDES
};

Profile ClassifyProto(absl::string_view proto) {
  // Proto tokens are case-sensitive in the grammar; stacks still vary.
  std::string upper = absl::AsciiStrToUpper(proto);
  Profile profile;
  absl::string_view rest = upper;
  if (absl::ConsumePrefix(&rest, "UDP/TLS/")) profile.dtls = true;
  if (rest == "RTP/AVP") {
    profile.rtp = true;
  } else if (rest == "RTP/AVPF") {
    profile.rtp = profile.feedback = true;
  } else if (rest == "RTP/SAVP") {
    profile.rtp = profile.secure = true;
  } else if (rest == "RTP/SAVPF") {
    profile.rtp = profile.secure = profile.feedback = true;
  }
  return profile;
}

std::string ProtoFor(bool secure, bool feedback) {
  return absl::StrCat("RTP/", secure ? "SAVP" : "AVP", feedback ? "F" : "");
}

absl::string_view ModeName(SrtpMode mode) {
  switch (mode) {
    case trunkline::v1::SRTP_MODE_REQUIRED:
      return "required";
    case trunkline::v1::SRTP_MODE_OPTIONAL:
      return "optional";
    case trunkline::v1::SRTP_MODE_NOT_SUPPORTED:
      return "not supported";
    default:
      return "unspecified";
  }
}

// A crypto line the relay can take up: a suite it implements, one SDES
// "inline:" key (several keys would need MKI bookkeeping per key) and no
// session parameters (RFC 4568 §6.3: an answerer must not accept what it does
// not understand).
bool IsUsableCrypto(const Crypto& crypto) {
  return IsSupportedSuite(crypto.suite) && crypto.key_params.size() == 1 &&
         absl::StartsWith(crypto.key_params[0], "inline:") &&
         crypto.session_params.empty();
}

// The usable crypto lines of an m-line, in the order the peer wrote them.
std::vector<Crypto> UsableCryptos(const MediaDescription& media) {
  std::vector<Crypto> usable;
  for (const Attribute* attribute : media.attributes.FindAll("crypto")) {
    // Parse() validated every a=crypto, so this cannot fail on parsed SDP;
    // a hand-built model with a bad line just offers nothing usable.
    absl::StatusOr<Crypto> crypto = ParseCrypto(attribute->value.value_or(""));
    if (crypto.ok() && IsUsableCrypto(*crypto)) {
      usable.push_back(*std::move(crypto));
    }
  }
  return usable;
}

bool Contains(const std::vector<std::string>& list, absl::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Whether a side's policy lets the relay take an offered m-line, and with
// SRTP or not.
struct Acceptance {
  bool accepted = false;
  bool srtp = false;
  std::string refusal;
};

Acceptance Refuse(std::string reason) {
  Acceptance acceptance;
  acceptance.refusal = std::move(reason);
  return acceptance;
}

Acceptance AcceptOffered(const MediaDescription& media, const RelaySide& side) {
  if (media.port == 0) return Refuse("the offerer disabled it (port 0)");
  if (!Contains(side.media_types, media.media)) {
    return Refuse(absl::StrCat("media type '", media.media,
                               "' is not relayed for this call"));
  }
  Profile profile = ClassifyProto(media.proto);
  if (profile.dtls) {
    return Refuse(absl::StrCat("transport '", media.proto,
                               "' needs DTLS-SRTP; the relay does SDES only"));
  }
  if (!profile.rtp) {
    return Refuse(
        absl::StrCat("transport '", media.proto, "' is not an RTP profile"));
  }
  const bool usable = !UsableCryptos(media).empty();
  Acceptance acceptance;
  acceptance.accepted = true;
  switch (side.srtp) {
    case trunkline::v1::SRTP_MODE_REQUIRED:
      if (!usable) {
        return Refuse(
            "SRTP is required on this side but the offer has no a=crypto "
            "with a supported suite");
      }
      acceptance.srtp = true;
      break;
    case trunkline::v1::SRTP_MODE_OPTIONAL:
      if (profile.secure && !usable) {
        return Refuse(absl::StrCat(media.proto,
                                   " without an a=crypto with a supported "
                                   "suite"));
      }
      acceptance.srtp = usable;
      break;
    default:  // not supported (unspecified is refused by CheckPolicy)
      if (profile.secure) {
        return Refuse(absl::StrCat(media.proto,
                                   " needs SRTP, which is not supported on "
                                   "this side"));
      }
      break;
  }
  return acceptance;
}

absl::Status CheckPolicy(const RelaySide& side, absl::string_view role) {
  if (side.srtp != trunkline::v1::SRTP_MODE_REQUIRED &&
      side.srtp != trunkline::v1::SRTP_MODE_OPTIONAL &&
      side.srtp != trunkline::v1::SRTP_MODE_NOT_SUPPORTED) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", role,
        " side's SRTP mode is unspecified; resolve the trunk default first"));
  }
  return absl::OkStatus();
}

// A side the relay writes SDP for: it also needs an address and, unless it is
// plain RTP only, keys.
absl::Status CheckAllocation(const RelaySide& side, absl::string_view role) {
  RETURN_IF_ERROR(CheckPolicy(side, role));
  if (side.address.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", role, " side has no relay address to advertise"));
  }
  if (side.srtp != trunkline::v1::SRTP_MODE_NOT_SUPPORTED &&
      side.keys.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", role, " side's SRTP mode is ", ModeName(side.srtp),
                     " but it has no local keys"));
  }
  for (size_t i = 0; i < side.keys.size(); ++i) {
    const LocalKey& key = side.keys[i];
    if (!IsSupportedSuite(key.suite)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the ", role, " side has a key for unsupported suite '",
                       key.suite, "'"));
    }
    if (!absl::StartsWith(key.key_params, "inline:")) {
      return absl::InvalidArgumentError(
          absl::StrCat("the ", role, " side's ", key.suite,
                       " key is not an SDES 'inline:' key parameter"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (side.keys[j].suite == key.suite) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the ", role, " side has two keys for suite ", key.suite));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<StreamPorts> PortsFor(const RelaySide& side, size_t index,
                                     absl::string_view role) {
  if (index >= side.ports.size() || side.ports[index].rtp_port == 0 ||
      side.ports[index].rtp_port > 65535 ||
      side.ports[index].rtcp_port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", role, " side has no valid relay ports for m-line ", index));
  }
  return side.ports[index];
}

RemoteEndpoint DescribeRemote(const SessionDescription& sdp,
                              const MediaDescription& media) {
  RemoteEndpoint remote;
  if (const Connection* connection = EffectiveConnection(sdp, media)) {
    remote.address = connection->address;
    remote.null_address = connection->IsNullAddress();
  }
  remote.rtp_port = media.port;
  remote.rtcp_address = remote.address;
  remote.rtcp_port = media.port + 1;
  if (const Attribute* attribute = media.attributes.Find("rtcp")) {
    if (absl::StatusOr<Rtcp> rtcp = ParseRtcp(attribute->value.value_or(""));
        rtcp.ok()) {
      remote.rtcp_port = rtcp->port;
      if (rtcp->connection.has_value()) {
        remote.rtcp_address = rtcp->connection->address;
      }
    }
  }
  return remote;
}

// Attributes that describe the peer's own transport, keys or sources. The
// relay replaces them with its own or drops them. RFC 5576's a=ssrc and
// a=ssrc-group go too: their cname is often user@address (topology hiding),
// and the relay's side may not keep the sources they describe.
bool IsTransportAttribute(const Attribute& attribute) {
  const std::string& name = attribute.name;
  return IsIceOrDtlsAttribute(name) || name == "crypto" || name == "rtcp" ||
         name == "rtcp-mux" || name == "rtcp-mux-only" || name == "ssrc" ||
         name == "ssrc-group";
}

bool IsSessionTransportAttribute(const Attribute& attribute) {
  // BUNDLE puts several m-lines on one port; the relay gives each m-line its
  // own ports, so the grouping would be a lie. Other groups (LS, FID) stay.
  if (attribute.name == "group" &&
      absl::StartsWith(attribute.value.value_or(""), "BUNDLE")) {
    return true;
  }
  return IsTransportAttribute(attribute);
}

// The relay's session level towards `side`, carrying the source's session
// name, other lines and non-transport attributes.
SessionDescription SessionFor(const SessionDescription& source,
                              const RelaySide& side) {
  SessionDescription out;
  Connection connection = Connection::ForAddress(side.address);
  out.origin.username = "-";
  out.origin.session_id = absl::StrCat(side.session_id);
  out.origin.session_version = absl::StrCat(side.session_version);
  out.origin.address_type = connection.address_type;
  out.origin.address = side.address;
  // RFC 8866 §5.3: s= must not be empty; "-" is its "no name".
  out.session_name =
      source.session_name.empty() ? std::string("-") : source.session_name;
  out.connection = std::move(connection);
  out.other_lines = source.other_lines;
  bool has_timing = false;
  for (const Line& line : out.other_lines) has_timing |= line.type == 't';
  if (!has_timing) out.other_lines.push_back(Line{'t', "0 0"});
  out.attributes = source.attributes;
  out.attributes.RemoveIf(IsSessionTransportAttribute);
  return out;
}

// RFC 3264 §5: a refused stream keeps its media type, proto and formats and
// carries nothing else.
MediaDescription RefusedMedia(const MediaDescription& source) {
  MediaDescription out;
  out.media = source.media;
  out.port = 0;
  out.proto = source.proto;
  out.formats = source.formats;
  return out;
}

// A legacy hold (c=0.0.0.0) means "send me nothing". The relay advertises its
// own address instead, so it says the same with the direction attribute
// (RFC 3264 §8.4): the holder still sends (sendonly) unless it already would
// not (recvonly/inactive become inactive).
Direction HeldDirection(Direction direction) {
  switch (direction) {
    case Direction::kSendRecv:
    case Direction::kSendOnly:
      return Direction::kSendOnly;
    case Direction::kRecvOnly:
    case Direction::kInactive:
      return Direction::kInactive;
  }
  return Direction::kInactive;
}

// Copies `source` (its formats and attributes) as a stream relayed on
// `ports`, minus the peer's transport attributes.
MediaDescription RelayedMedia(const SessionDescription& source_sdp,
                              const MediaDescription& source, std::string proto,
                              const StreamPorts& ports) {
  MediaDescription out = source;
  out.port = ports.rtp_port;
  out.port_count.reset();
  out.proto = std::move(proto);
  out.connection.reset();  // the session-level c= is the relay
  out.attributes.RemoveIf(IsTransportAttribute);
  const Connection* connection = EffectiveConnection(source_sdp, source);
  if (connection != nullptr && connection->IsNullAddress()) {
    out.attributes.SetDirection(
        HeldDirection(EffectiveDirection(source_sdp, source)));
  }
  return out;
}

absl::Status AddRtcpAttributes(MediaDescription& media,
                               const StreamPorts& ports, bool mux,
                               absl::string_view role, size_t index) {
  if (ports.rtcp_port == 0) {
    if (!mux) {
      return absl::InvalidArgumentError(
          absl::StrCat("the ", role, " side has no RTCP port for m-line ",
                       index, " and RTCP is not muxed there"));
    }
    // Only the RTP port exists: a peer that ignores rtcp-mux must not fall
    // back to RTP port + 1, which the relay does not own.
    media.attributes.Add("rtcp", absl::StrCat(ports.rtp_port));
  } else if (ports.rtcp_port != ports.rtp_port + 1) {
    media.attributes.Add("rtcp", absl::StrCat(ports.rtcp_port));
  }
  if (mux) media.attributes.Add("rtcp-mux");
  return absl::OkStatus();
}

void AddCrypto(MediaDescription& media, uint32_t tag, const LocalKey& key) {
  Crypto crypto;
  crypto.tag = tag;
  crypto.suite = key.suite;
  crypto.key_params = {key.key_params};
  media.attributes.Add("crypto", FormatCrypto(crypto));
}

const LocalKey* KeyForSuite(const RelaySide& side, absl::string_view suite) {
  for (const LocalKey& key : side.keys) {
    if (key.suite == suite) return &key;
  }
  return nullptr;
}

// Reads the answerer's a=crypto against what the relay offered it (tags
// 1..n over answerer_side.keys). Returns the refusal reason on a mismatch.
absl::StatusOr<std::optional<CryptoChoice>> AnswererCrypto(
    const MediaDescription& answer, const RelaySide& answerer_side) {
  if (answerer_side.srtp == trunkline::v1::SRTP_MODE_NOT_SUPPORTED) {
    return std::optional<CryptoChoice>();  // we offered none; ignore any
  }
  std::vector<const Attribute*> lines = answer.attributes.FindAll("crypto");
  if (lines.empty()) {
    if (answerer_side.srtp == trunkline::v1::SRTP_MODE_REQUIRED) {
      return absl::FailedPreconditionError(
          "SRTP is required towards the answerer but its answer has no "
          "a=crypto");
    }
    return std::optional<CryptoChoice>();
  }
  if (lines.size() > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("the answer has ", lines.size(),
                     " a=crypto lines; RFC 4568 allows one"));
  }
  absl::StatusOr<Crypto> crypto = ParseCrypto(lines[0]->value.value_or(""));
  if (!crypto.ok()) return crypto.status();
  if (crypto->tag == 0 || crypto->tag > answerer_side.keys.size() ||
      answerer_side.keys[crypto->tag - 1].suite != crypto->suite) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the answer's a=crypto tag ", crypto->tag, " with ", crypto->suite,
        " matches no crypto line the relay offered"));
  }
  if (!IsUsableCrypto(*crypto)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the answer's a=crypto '", FormatCrypto(*crypto),
                     "' needs more than one inline key or session parameters"));
  }
  CryptoChoice choice;
  choice.tag = crypto->tag;
  choice.suite = crypto->suite;
  choice.remote_key_params = crypto->key_params[0];
  choice.local_key_params = answerer_side.keys[crypto->tag - 1].key_params;
  return std::optional<CryptoChoice>(std::move(choice));
}

}  // namespace

bool IsSupportedSuite(absl::string_view suite) {
  return suite == kAesCm128HmacSha1_80 || suite == kAesCm128HmacSha1_32 ||
         suite == kAeadAes128Gcm;
}

absl::StatusOr<OfferRewrite> RewriteOffer(const SessionDescription& offer,
                                          const RelaySide& from,
                                          const RelaySide& to) {
  RETURN_IF_ERROR(CheckPolicy(from, "offering"));
  RETURN_IF_ERROR(CheckAllocation(to, "answering"));

  OfferRewrite result;
  result.sdp = SessionFor(offer, to);
  std::vector<std::string> refusals;
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const MediaDescription& source = offer.media[i];
    OfferedStream stream;
    stream.offerer = DescribeRemote(offer, source);
    stream.offerer_rtcp_mux = source.attributes.Has("rtcp-mux");

    Acceptance acceptance = AcceptOffered(source, from);
    if (acceptance.accepted && !Contains(to.media_types, source.media)) {
      acceptance = Refuse(absl::StrCat("media type '", source.media,
                                       "' is not relayed to the answerer"));
    }
    if (!acceptance.accepted) {
      stream.refusal = acceptance.refusal;
      refusals.push_back(absl::StrCat("m-line ", i, ": ", stream.refusal));
      result.sdp.media.push_back(RefusedMedia(source));
      result.streams.push_back(std::move(stream));
      continue;
    }

    ASSIGN_OR_RETURN(StreamPorts ports, PortsFor(to, i, "answering"));
    const bool srtp = to.srtp != trunkline::v1::SRTP_MODE_NOT_SUPPORTED;
    // "Optional" offers SRTP inside RTP/AVP (best-effort SRTP, as most SBCs
    // do): a peer without SRTP still accepts the stream and ignores a=crypto.
    const bool secure_profile = to.srtp == trunkline::v1::SRTP_MODE_REQUIRED;
    MediaDescription media = RelayedMedia(
        offer, source,
        ProtoFor(secure_profile, ClassifyProto(source.proto).feedback), ports);
    RETURN_IF_ERROR(
        AddRtcpAttributes(media, ports, to.rtcp_mux, "answering", i));
    if (srtp) {
      for (size_t k = 0; k < to.keys.size(); ++k) {
        AddCrypto(media, static_cast<uint32_t>(k + 1), to.keys[k]);
      }
    }
    stream.relayed = true;
    stream.srtp_offered = srtp;
    stream.rtcp_mux_offered = to.rtcp_mux;
    result.sdp.media.push_back(std::move(media));
    result.streams.push_back(std::move(stream));
  }

  bool any_relayed = false;
  for (const OfferedStream& stream : result.streams) {
    any_relayed |= stream.relayed;
  }
  if (!any_relayed) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no m-line of the offer can be relayed", refusals.empty() ? "" : ": ",
        absl::StrJoin(refusals, "; ")));
  }
  return result;
}

absl::StatusOr<AnswerRewrite> RewriteAnswer(const SessionDescription& offer,
                                            const SessionDescription& answer,
                                            const RelaySide& answerer_side,
                                            const RelaySide& offerer_side) {
  RETURN_IF_ERROR(CheckPolicy(answerer_side, "answering"));
  RETURN_IF_ERROR(CheckAllocation(offerer_side, "offering"));
  if (answer.media.size() != offer.media.size()) {
    // RFC 3264 §6: the answer has exactly as many m-lines as the offer.
    return absl::InvalidArgumentError(
        absl::StrCat("the answer has ", answer.media.size(),
                     " m-lines but the offer had ", offer.media.size()));
  }

  AnswerRewrite result;
  result.sdp = SessionFor(answer, offerer_side);
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const MediaDescription& offered = offer.media[i];
    const MediaDescription& answered = answer.media[i];
    AnsweredStream stream;
    stream.offerer = DescribeRemote(offer, offered);
    stream.answerer = DescribeRemote(answer, answered);

    Acceptance acceptance = AcceptOffered(offered, offerer_side);
    if (acceptance.accepted &&
        !Contains(answerer_side.media_types, offered.media)) {
      // We offered it with port 0; a live port in the answer is the peer's
      // mistake, and the relay has nothing allocated for it.
      acceptance = Refuse(absl::StrCat("media type '", offered.media,
                                       "' is not relayed to the answerer"));
    }
    if (acceptance.accepted && answered.port == 0) {
      acceptance = Refuse("the answerer refused it (port 0)");
    }
    std::optional<CryptoChoice> answerer_crypto;
    if (acceptance.accepted) {
      absl::StatusOr<std::optional<CryptoChoice>> crypto =
          AnswererCrypto(answered, answerer_side);
      if (crypto.ok()) {
        answerer_crypto = *std::move(crypto);
      } else {
        acceptance = Refuse(std::string(crypto.status().message()));
      }
    }
    std::optional<CryptoChoice> offerer_crypto;
    if (acceptance.accepted && acceptance.srtp) {
      // RFC 4568 §7.1.2: take the first offered line we can use.
      for (const Crypto& crypto : UsableCryptos(offered)) {
        if (const LocalKey* key = KeyForSuite(offerer_side, crypto.suite)) {
          CryptoChoice choice;
          choice.tag = crypto.tag;
          choice.suite = crypto.suite;
          choice.remote_key_params = crypto.key_params[0];
          choice.local_key_params = key->key_params;
          offerer_crypto = std::move(choice);
          break;
        }
      }
      if (!offerer_crypto.has_value() &&
          (ClassifyProto(offered.proto).secure ||
           offerer_side.srtp == trunkline::v1::SRTP_MODE_REQUIRED)) {
        acceptance = Refuse(
            "no offered SRTP suite has a local key on the offering side");
      }
    }
    if (!acceptance.accepted) {
      stream.refusal = acceptance.refusal;
      result.sdp.media.push_back(RefusedMedia(offered));
      result.streams.push_back(std::move(stream));
      continue;
    }

    ASSIGN_OR_RETURN(StreamPorts ports, PortsFor(offerer_side, i, "offering"));
    stream.offerer_rtcp_mux =
        offerer_side.rtcp_mux && offered.attributes.Has("rtcp-mux");
    stream.answerer_rtcp_mux =
        answerer_side.rtcp_mux && answered.attributes.Has("rtcp-mux");
    // RFC 3264 §6.1: the answer keeps the offer's transport; codecs,
    // parameters and direction are the answerer's.
    MediaDescription media =
        RelayedMedia(answer, answered, offered.proto, ports);
    if (stream.offerer_rtcp_mux) {
      // RTCP rides on the RTP port; an a=rtcp port would only mislead.
      media.attributes.Add("rtcp-mux");
    } else {
      RETURN_IF_ERROR(AddRtcpAttributes(media, ports, false, "offering", i));
    }
    if (offerer_crypto.has_value()) {
      AddCrypto(
          media, offerer_crypto->tag,
          LocalKey{offerer_crypto->suite, offerer_crypto->local_key_params});
    }
    stream.relayed = true;
    stream.offerer_crypto = std::move(offerer_crypto);
    stream.answerer_crypto = std::move(answerer_crypto);
    result.sdp.media.push_back(std::move(media));
    result.streams.push_back(std::move(stream));
  }
  return result;
}

}  // namespace trunkline::media::sdp
