// The SDP the relay returned for each Offer/Update and Answer of a call, by
// (method, leg, request id): a retry gets the same SDP and changes nothing.
//
// A call makes a handful of these and keeps them for its lifetime, so they
// are a vector searched in order, each entry one string (the request id,
// then the SDP). A hash map from a "<method>/<leg>/<request id>" string to
// the SDP string cost every idle session ~150 octets more (the table, a
// second string per entry). Control path only.
#ifndef TRUNKLINE_SERVICES_MEDIA_RELAY_RESPONSE_CACHE_H_
#define TRUNKLINE_SERVICES_MEDIA_RELAY_RESPONSE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "trunkline/v1/media.pb.h"

namespace trunkline::media::relay {

class ResponseCache {
 public:
  // Offer and Update share one kind: an Update retried as an Offer (or the
  // other way round) is the same request.
  enum class Method : uint8_t { kOffer, kAnswer };

  // The SDP stored for the request, if any; valid until the next Put.
  std::optional<absl::string_view> Find(Method method, v1::Leg leg,
                                        absl::string_view request_id) const;
  // Stores the SDP for the request, replacing what was stored for it.
  void Put(Method method, v1::Leg leg, absl::string_view request_id,
           absl::string_view sdp);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string text;  // the request id, then the SDP
    uint32_t id_length = 0;
    Method method = Method::kOffer;
    uint8_t leg = 0;  // a v1::Leg
  };
  // The index of the request's entry, or size() when there is none.
  size_t IndexOf(Method method, v1::Leg leg,
                 absl::string_view request_id) const;

  std::vector<Entry> entries_;
};

}  // namespace trunkline::media::relay

#endif  // TRUNKLINE_SERVICES_MEDIA_RELAY_RESPONSE_CACHE_H_
