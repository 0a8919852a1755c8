// The o= line a leg sees across the SDP we send it (RFC 3264 8: an offer
// that modifies the session keeps the origin of the previous SDP, its
// version one higher). A B2BUA that moves a leg to another party's SDP (a
// failover after that leg's early offer/answer was made) would otherwise
// hand it that party's origin: a new session id, and a version that may
// even equal the old one, which a peer comparing versions takes for "no
// change".
#ifndef TRUNKLINE_SERVICES_SIGNALING_SDP_ORIGIN_H_
#define TRUNKLINE_SERVICES_SIGNALING_SDP_ORIGIN_H_

#include <cstdint>
#include <string>

namespace trunkline::signaling {

class SdpOriginKeeper {
 public:
  // `sdp` as the leg must see it. The first SDP through sets the origin
  // (username, session id, network type, address type, address) and the
  // version, and comes back as it is; each later one gets that origin, and
  // a version one higher than the last whenever anything else in it
  // changed (the same version when it repeats the last: a session refresh).
  // SDP without a well-formed o= line comes back as it is.
  std::string Apply(const std::string& sdp);

 private:
  bool started_ = false;
  std::string username_;
  std::string session_id_;
  uint64_t version_ = 0;
  std::string network_;    // "IN IP4 192.0.2.1"
  std::string last_rest_;  // the last SDP without its o= line
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_SDP_ORIGIN_H_
