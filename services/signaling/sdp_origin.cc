#include "services/signaling/sdp_origin.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace trunkline::signaling {

std::string SdpOriginKeeper::Apply(const std::string& sdp) {
  // The o= line: at the start, or after a line break.
  size_t start = 0;
  if (!absl::StartsWith(sdp, "o=")) {
    const size_t at = sdp.find("\no=");
    if (at == std::string::npos) return sdp;
    start = at + 1;
  }
  size_t end = sdp.find('\n', start);
  end = end == std::string::npos ? sdp.size() : end + 1;
  absl::string_view line = absl::string_view(sdp).substr(start, end - start);
  absl::string_view eol = "";
  if (absl::EndsWith(line, "\r\n")) {
    eol = "\r\n";
  } else if (absl::EndsWith(line, "\n")) {
    eol = "\n";
  }
  line.remove_suffix(eol.size());
  const std::vector<absl::string_view> fields =
      absl::StrSplit(line.substr(2), ' ', absl::SkipEmpty());
  uint64_t version = 0;
  if (fields.size() != 6 || !absl::SimpleAtoi(fields[2], &version)) {
    return sdp;
  }
  std::string rest = absl::StrCat(absl::string_view(sdp).substr(0, start),
                                  absl::string_view(sdp).substr(end));
  if (!started_) {
    started_ = true;
    username_ = std::string(fields[0]);
    session_id_ = std::string(fields[1]);
    version_ = version;
    network_ = absl::StrCat(fields[3], " ", fields[4], " ", fields[5]);
    last_rest_ = std::move(rest);
    return sdp;
  }
  if (rest != last_rest_) {
    ++version_;
    last_rest_ = std::move(rest);
  }
  return absl::StrCat(absl::string_view(sdp).substr(0, start), "o=", username_,
                      " ", session_id_, " ", version_, " ", network_, eol,
                      absl::string_view(sdp).substr(end));
}

}  // namespace trunkline::signaling
