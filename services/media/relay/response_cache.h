// The SDP the relay returned for each Offer/Update and Answer of a call, by
// (method, leg, request id): a retry gets the same SDP and changes nothing.
//
// A call makes a handful of these and keeps them for its lifetime, so they
// are a vector searched in order, each entry one string (the request id,
// then the SDP). A hash map from a "<method>/<leg>/<request id>" string to
// the SDP string cost every idle session ~150 octets more (the table, a
// second string per entry). Control path only.
//
// The SDP of an SRTP side repeats our SDES key parameters ("inline:" and 40
// base64 characters; three offered per side), which the session keeps
// anyway: Put and Find take those texts as `phrases`, and each occurrence is
// stored as two octets (kPhraseMark, then its index) and put back by Find
// from the same list. The caller passes the same phrases at the same
// indexes for the life of the session. An SDP that holds kPhraseMark itself
// is stored as it is.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_RESPONSE_CACHE_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_RESPONSE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "trunkline/v1/media.pb.h"

namespace trunkline::media::relay {

class ResponseCache {
 public:
  // Offer and Update share one kind: an Update retried as an Offer (or the
  // other way round) is the same request.
  enum class Method : uint8_t { kOffer, kAnswer };

  static constexpr char kPhraseMark = '\x01';

  // The SDP stored for the request, if any.
  std::optional<std::string> Find(
      Method method, v1::Leg leg, absl::string_view request_id,
      absl::Span<const std::string> phrases = {}) const;
  // Stores the SDP for the request, replacing what was stored for it.
  // Empty phrases are not looked for; at most 255 are.
  void Put(Method method, v1::Leg leg, absl::string_view request_id,
           absl::string_view sdp, absl::Span<const std::string> phrases = {});
  size_t size() const { return entries_.size(); }
  // Octets of text held (request ids and SDP as stored).
  size_t stored_bytes() const;

 private:
  struct Entry {
    std::string text;  // the request id, then the SDP
    uint32_t id_length = 0;
    Method method = Method::kOffer;
    uint8_t leg = 0;           // a v1::Leg
    bool has_phrases = false;  // the SDP holds kPhraseMark tokens
  };
  // The index of the request's entry, or size() when there is none.
  size_t IndexOf(Method method, v1::Leg leg,
                 absl::string_view request_id) const;

  std::vector<Entry> entries_;
};

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_RESPONSE_CACHE_H_
