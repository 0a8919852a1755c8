#include "services/signaling/sip_stack.h"

#include "absl/strings/string_view.h"

namespace trunkline::signaling {
namespace {

SipResponse NotImplemented() {
  SipResponse r;
  r.code = 501;
  r.phrase = "Not Implemented";
  return r;
}

}  // namespace

bool IsEndToEndHeader(const std::string& name) {
  // RFC 6086 (Info-Package), RFC 3515/3892 (Refer-To, Referred-By), RFC 6665
  // (Event, Subscription-State), RFC 3326 (Reason), RFC 3261 Content-
  // Disposition, RFC 3323 Privacy. Session-Expires and Min-SE are not here:
  // session timers run per leg.
  static constexpr absl::string_view kEndToEnd[] = {
      "info-package", "content-disposition", "refer-to", "referred-by",
      "event",        "subscription-state",  "reason",   "privacy",
      "refer-sub"};
  for (absl::string_view h : kEndToEnd) {
    if (name == h) return true;
  }
  return false;
}

void ServerLegObserver::OnDialogRequest(
    const DialogRequest&, std::unique_ptr<ServerTransaction> transaction) {
  transaction->Respond(NotImplemented());
}

void ServerLegObserver::OnPrack(const std::string&, const std::string&, bool,
                                bool) {}

void ClientLegObserver::OnAck(const std::string&, const std::string&) {}

void ClientLegObserver::OnDialogRequest(
    const DialogRequest&, std::unique_ptr<ServerTransaction> transaction) {
  transaction->Respond(NotImplemented());
}

}  // namespace trunkline::signaling
