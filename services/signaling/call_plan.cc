#include "services/signaling/call_plan.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace trunkline::signaling {
namespace {

// The Q.850 cause in a Reason header ("Q.850;cause=16;text=..."), or 0.
int Q850Cause(const std::string& reason) {
  std::string lower = absl::AsciiStrToLower(reason);
  size_t q = lower.find("q.850");
  if (q == std::string::npos) return 0;
  size_t c = lower.find("cause=", q);
  if (c == std::string::npos) return 0;
  c += 6;
  size_t end = c;
  while (end < lower.size() && absl::ascii_isdigit(lower[end])) ++end;
  int cause = 0;
  return absl::SimpleAtoi(lower.substr(c, end - c), &cause) ? cause : 0;
}

}  // namespace

std::string TransportParam(v1::Transport t) {
  switch (t) {
    case v1::TRANSPORT_TCP:
      return ";transport=tcp";
    case v1::TRANSPORT_TLS:
      return ";transport=tls";
    default:
      return "";
  }
}

std::string UriHost(const std::string& host) {
  return absl::StrContains(host, ':') ? absl::StrCat("[", host, "]") : host;
}

std::string UriHostPort(const std::string& host, uint32_t port) {
  return port == 0 ? UriHost(host) : absl::StrCat(UriHost(host), ":", port);
}

std::string UriScheme(bool sips) { return sips ? "sips:" : "sip:"; }

std::string OurContact(const std::string& host, uint32_t port,
                       v1::Transport transport, bool sips) {
  return absl::StrCat("<", UriScheme(sips), UriHost(host), ":", port,
                      sips ? "" : TransportParam(transport), ">");
}

bool CallerWithholdsIdentity(const IncomingRequest& in) {
  for (const std::string& v : in.privacy) {
    if (v == "id" || v == "user" || v == "header") return true;
  }
  return absl::EqualsIgnoreCase(in.from_user, "anonymous");
}

OutgoingInvite BuildInvite(const IncomingRequest& in, const v1::Candidate& c,
                           const std::string& body) {
  const v1::NextHop& hop = c.next_hop();
  OutgoingInvite out;
  const std::string gw = UriHost(hop.host());
  // No port for a gateway located by DNS SRV: nta then looks the records up.
  const uint32_t port = hop.dns_srv() ? 0 : hop.port() ? hop.port() : 5060;
  const std::string local = UriHost(hop.advertised_address());
  const std::string scheme = UriScheme(hop.sips());
  out.request_uri = absl::StrCat(
      scheme, c.called_number(), "@", UriHostPort(hop.host(), port),
      hop.sips() ? "" : TransportParam(hop.transport()));
  out.to = absl::StrCat("<", scheme, c.called_number(), "@", gw, ">");
  // Withheld by policy (routing's caller-ID suppression) or by the caller:
  // an anonymous From and Privacy: id; only a trusted peer (forwarded
  // P-Asserted-Identity) still learns the number.
  const bool anonymous = c.headers().anonymous() ||
                         c.calling_number() == "anonymous" ||
                         CallerWithholdsIdentity(in);
  if (anonymous) {
    out.from =
        absl::StrCat("\"Anonymous\" <", scheme, "anonymous@anonymous.invalid>");
    out.headers.emplace_back("Privacy", "id");
  } else {
    out.from = absl::StrCat("<", scheme, c.calling_number(), "@", local, ">");
  }
  if (c.headers().forward_p_asserted_identity()) {
    // With Privacy: id the trusted peer still learns who calls: the number
    // routing translated for it, or, replaced by "anonymous" (caller-ID
    // suppression), the caller's as received.
    const std::string number =
        c.calling_number() != "anonymous"
            ? c.calling_number()
            : (in.pai_user.empty() ? in.from_user : in.pai_user);
    if (!number.empty() && number != "anonymous") {
      out.headers.emplace_back(
          "P-Asserted-Identity",
          absl::StrCat("<", scheme, number, "@", local, ">"));
    }
  }
  if (c.headers().forward_call_history()) {
    for (const auto& h : in.call_history) out.headers.push_back(h);
  }
  out.contact = OurContact(hop.advertised_address(), hop.local_port(),
                           hop.transport(), hop.sips());
  out.next_hop_host = hop.host();
  out.next_hop_port = port;
  out.transport = hop.transport() == v1::TRANSPORT_UNSPECIFIED
                      ? v1::TRANSPORT_UDP
                      : hop.transport();
  out.local_port = hop.local_port();
  if (!body.empty()) {
    out.body = body;
    out.content_type =
        in.content_type.empty() ? "application/sdp" : in.content_type;
  }
  // The caller's location (an emergency call's PIDF-LO, RFC 6442) goes
  // beside the SDP to a trunk that takes it; its other parts (ISUP) and
  // everything for a trunk that does not, end here. Without an SDP to go
  // with (a delayed offer) it is not sent, and neither are the Geolocation
  // headers that point at it.
  if (c.headers().forward_location()) {
    std::vector<BodyPart> location;
    for (const BodyPart& part : in.body_parts) {
      if (IsLocationPart(part)) location.push_back(part);
    }
    if (!location.empty() && !body.empty()) {
      out.body = JoinMultipart(body, location, &out.content_type);
    }
    if (location.empty() || !body.empty()) {
      for (const auto& h : in.geolocation) out.headers.push_back(h);
    }
  }
  // One hop less than the caller's, so a loop through us runs out (the
  // stack's 70 when the caller sent none).
  if (in.max_forwards > 0) {
    out.headers.emplace_back("Max-Forwards", absl::StrCat(in.max_forwards - 1));
  }
  return out;
}

bool IsFailover(const SipResponse& r, const v1::FailoverPlan& plan) {
  if (r.code < 300) return false;
  // Our own 408 (no answer) and 503 (transport error) always move on: the
  // gateway never saw or never answered the call.
  if (r.local && (r.code == 408 || r.code == 503)) return true;
  return std::find(plan.failover_response_codes().begin(),
                   plan.failover_response_codes().end(),
                   static_cast<uint32_t>(r.code)) !=
         plan.failover_response_codes().end();
}

int TranslateCode(const SipResponse& r, const v1::FailoverPlan& plan) {
  const int cause = Q850Cause(r.Header("Reason"));
  for (const auto& rule : plan.response_code_translation_rules()) {
    if (static_cast<int>(rule.received_code()) != r.code) continue;
    if (rule.received_q850_cause() != 0 &&
        static_cast<int>(rule.received_q850_cause()) != cause) {
      continue;
    }
    return static_cast<int>(rule.translated_code());
  }
  return r.code;
}

std::string SipReason(int cause, const std::string& text) {
  return absl::StrCat(
      "SIP;cause=", cause, ";text=\"",
      absl::StrReplaceAll(text, {{"\\", "\\\\"}, {"\"", "\\\""}}), "\"");
}

std::string SipResponse::Header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (absl::EqualsIgnoreCase(n, name)) return v;
  }
  return "";
}

}  // namespace trunkline::signaling
