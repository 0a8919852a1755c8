#include "services/signaling/sofia/sip_message.h"

#include <sofia-sip/msg.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/msg_mclass.h>
#include <sofia-sip/sip_extra.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_util.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/signaling/message_body.h"

namespace trunkline::signaling {
namespace {

std::string Str(const char* s) { return s ? s : ""; }

std::string UrlUser(const url_t* url) { return url ? Str(url->url_user) : ""; }

std::string UrlString(su_home_t* home, const url_t* url) {
  if (url == nullptr) return "";
  char* s = url_as_string(home, url);
  std::string out = Str(s);
  su_free(home, s);
  return out;
}

// A header's value as the library renders it (the field value, without
// "Name:").
std::string RenderedValue(su_home_t* home, const sip_header_t* h) {
  char* s = sip_header_as_string(home, h);
  std::string out = Str(s);
  su_free(home, s);
  return std::string(absl::StripAsciiWhitespace(out));
}

// The Content-Type value with its parameters ("multipart/mixed;
// boundary=x"), or "".
std::string FullContentType(su_home_t* home, const sip_t* sip) {
  if (sip->sip_content_type == nullptr) return "";
  return RenderedValue(
      home, reinterpret_cast<const sip_header_t*>(sip->sip_content_type));
}

}  // namespace

MessageBody BodyOf(su_home_t* home, const sip_t* sip, bool split) {
  MessageBody out;
  if (sip == nullptr || sip->sip_payload == nullptr ||
      sip->sip_payload->pl_len == 0) {
    return out;
  }
  out.body.assign(sip->sip_payload->pl_data, sip->sip_payload->pl_len);
  const std::string media =
      sip->sip_content_type ? MediaTypeOf(Str(sip->sip_content_type->c_type))
                            : "";
  if (media.empty() || media == "application/sdp") {
    if (sip->sip_content_type) out.content_type = "application/sdp";
    return out;
  }
  out.content_type = FullContentType(home, sip);
  if (!split || !absl::StartsWith(media, "multipart/")) return out;
  absl::StatusOr<SplitBody> parts = Split(out.content_type, out.body);
  if (!parts.ok()) {
    out.error = std::string(parts.status().message());
    return out;
  }
  out.body = std::move(parts->sdp);
  out.content_type = out.body.empty() ? "" : "application/sdp";
  out.others = std::move(parts->others);
  return out;
}

msg_mclass_t const* SipParser() {
  // Without this, Sofia parses P-Asserted-Identity as an unknown header and
  // sip_p_asserted_identity() never finds it.
  static msg_mclass_t const* const parser = [] {
    msg_mclass_t* m = msg_mclass_clone(sip_default_mclass(), 0, 0);
    if (m == nullptr) return sip_default_mclass();
    // Offset 0: an extension header, found by class, not by a sip_t field.
    for (msg_hclass_t* h :
         {sip_p_asserted_identity_class, sip_p_preferred_identity_class,
          sip_remote_party_id_class}) {
      if (msg_mclass_insert_header(m, h, 0) < 0) return sip_default_mclass();
    }
    return static_cast<msg_mclass_t const*>(m);
  }();
  return parser;
}

IncomingRequest DescribeRequest(su_home_t* home, const sip_t* sip) {
  IncomingRequest r;
  if (sip == nullptr) return r;
  if (sip->sip_request) {
    r.method = Str(sip->sip_request->rq_method_name);
    r.request_uri = UrlString(home, sip->sip_request->rq_url);
    r.request_uri_user = UrlUser(sip->sip_request->rq_url);
  }
  if (sip->sip_from) {
    r.from_uri = UrlString(home, sip->sip_from->a_url);
    r.from_user = UrlUser(sip->sip_from->a_url);
  }
  if (const sip_p_asserted_identity_t* pai = sip_p_asserted_identity(sip)) {
    r.pai_uri = UrlString(home, pai->paid_url);
    r.pai_user = UrlUser(pai->paid_url);
  }
  if (sip->sip_call_id) r.call_id = Str(sip->sip_call_id->i_id);
  // The B2BUA takes the SDP; the other parts (a location object, an ISUP
  // message) go apart, a body of one such part too.
  MessageBody body = BodyOf(home, sip);
  if (!body.error.empty()) {
    r.body_error = std::move(body.error);
  } else if (!body.content_type.empty() &&
             body.content_type != "application/sdp") {
    // Not SDP and not split (a split body's type is the SDP's or none): a
    // body of one other part.
    const std::string disposition =
        sip->sip_content_disposition
            ? RenderedValue(home, reinterpret_cast<const sip_header_t*>(
                                      sip->sip_content_disposition))
            : "";
    absl::StatusOr<SplitBody> one =
        Split(body.content_type, body.body, disposition);
    if (one.ok()) r.body_parts = std::move(one->others);
  } else {
    r.content_type = std::move(body.content_type);
    r.body = std::move(body.body);
    r.body_parts = std::move(body.others);
  }
  for (const sip_unknown_t* u = sip->sip_unknown; u; u = u->un_next) {
    const std::string name = Str(u->un_name);
    if (absl::EqualsIgnoreCase(name, "History-Info") ||
        absl::EqualsIgnoreCase(name, "Diversion")) {
      r.call_history.emplace_back(name, Str(u->un_value));
    } else if (absl::EqualsIgnoreCase(name, "Replaces")) {
      r.replaces = Str(u->un_value);
    } else if (absl::EqualsIgnoreCase(name, "Geolocation") ||
               absl::EqualsIgnoreCase(name, "Geolocation-Routing")) {
      r.geolocation.emplace_back(name, Str(u->un_value));
    }
  }
  // Every Require header's option tags (the list may span headers).
  for (const sip_require_t* q = sip->sip_require; q; q = q->k_next) {
    for (const msg_param_t* item = q->k_items; item && *item; ++item) {
      r.require.push_back(*item);
    }
  }
  for (const sip_supported_t* k = sip->sip_supported; k; k = k->k_next) {
    for (const msg_param_t* item = k->k_items; item && *item; ++item) {
      r.supported.push_back(absl::AsciiStrToLower(*item));
    }
  }
  if (sip->sip_privacy) {
    for (const msg_param_t* v = sip->sip_privacy->priv_values; v && *v; ++v) {
      r.privacy.push_back(absl::AsciiStrToLower(*v));
    }
  }
  if (sip->sip_max_forwards) {
    r.max_forwards = static_cast<int>(
        std::min<unsigned long>(sip->sip_max_forwards->mf_count, 255));
  }
  if (sip->sip_session_expires) {
    r.session_expires = RenderedValue(
        home, reinterpret_cast<const sip_header_t*>(sip->sip_session_expires));
  }
  if (const sip_replaces_t* rp = sip_replaces(sip)) {
    r.replaces = RenderedValue(home, reinterpret_cast<const sip_header_t*>(rp));
  }
  if (sip->sip_min_se) {
    r.min_se = RenderedValue(
        home, reinterpret_cast<const sip_header_t*>(sip->sip_min_se));
  }
  for (const sip_accept_t* a = sip->sip_accept; a; a = a->ac_next) {
    r.has_accept = true;
    if (a->ac_type) r.accept.push_back(absl::AsciiStrToLower(a->ac_type));
  }
  return r;
}

DialogRequest DescribeDialogRequest(su_home_t* home, const sip_t* sip) {
  DialogRequest r;
  if (sip == nullptr || sip->sip_request == nullptr) return r;
  r.method = Str(sip->sip_request->rq_method_name);
  // An offer or answer in a multipart body is taken out of it (the other
  // parts stay on this leg); anything else travels as it came, its
  // Content-Type's parameters included.
  const sip_method_t m = sip->sip_request->rq_method;
  MessageBody body = BodyOf(home, sip,
                            m == sip_method_invite || m == sip_method_update ||
                                m == sip_method_prack || m == sip_method_ack);
  if (!body.error.empty()) {
    r.body_error = std::move(body.error);
  } else {
    r.content_type = std::move(body.content_type);
    r.body = std::move(body.body);
  }
  // Every header in the order received, known to Sofia or not.
  for (const sip_header_t* h = reinterpret_cast<const sip_header_t*>(
           reinterpret_cast<const sip_header_t*>(sip->sip_request)->sh_succ);
       h != nullptr; h = reinterpret_cast<const sip_header_t*>(h->sh_succ)) {
    if (h->sh_class == sip_unknown_class) {
      const std::string name = Str(h->sh_unknown->un_name);
      if (IsEndToEndHeader(absl::AsciiStrToLower(name))) {
        r.headers.emplace_back(name, Str(h->sh_unknown->un_value));
      }
      continue;
    }
    const char* name = h->sh_class ? h->sh_class->hc_name : nullptr;
    if (name == nullptr || *name == '\0') continue;  // separator, payload
    if (IsEndToEndHeader(absl::AsciiStrToLower(name))) {
      r.headers.emplace_back(name, RenderedValue(home, h));
    }
  }
  return r;
}

namespace {

// Sofia's parse of one datagram, handed to `describe` when it is a request
// nta would accept.
template <typename Describe>
auto ParseRequest(absl::string_view datagram, Describe describe)
    -> std::optional<decltype(describe(nullptr, nullptr))> {
  msg_t* msg = msg_create(SipParser(), MSG_FLG_EXTRACT_COPY);
  if (msg == nullptr) return std::nullopt;
  // As tport_recv_dgram does: the datagram into the message's buffer, the
  // end of the datagram the end of the stream (eos).
  msg_iovec_t iov[2];
  const ssize_t vectors = msg_recv_iovec(msg, iov, 2, datagram.size(), 1);
  if (vectors < 0) {
    msg_destroy(msg);
    return std::nullopt;
  }
  size_t copied = 0;
  for (ssize_t i = 0; i < vectors && copied < datagram.size(); ++i) {
    const size_t len =
        std::min<size_t>(iov[i].mv_len, datagram.size() - copied);
    std::memcpy(iov[i].mv_base, datagram.data() + copied, len);
    copied += len;
  }
  if (copied != datagram.size()) {
    msg_destroy(msg);
    return std::nullopt;
  }
  msg_recv_commit(msg, datagram.size(), 1);
  std::optional<decltype(describe(nullptr, nullptr))> out;
  if (msg_extract(msg) > 0) {
    const sip_t* sip = sip_object(msg);
    // What nta insists on before a request reaches a leg.
    if (sip && sip->sip_request && !sip->sip_error && sip->sip_via &&
        sip->sip_call_id && sip->sip_from && sip->sip_to && sip->sip_cseq &&
        sip_sanity_check(sip) == 0) {
      out = describe(msg_home(msg), sip);
    }
  }
  msg_destroy(msg);
  return out;
}

}  // namespace

std::optional<IncomingRequest> ParseDatagram(absl::string_view datagram) {
  return ParseRequest(datagram, [](su_home_t* home, const sip_t* sip) {
    return DescribeRequest(home, sip);
  });
}

std::optional<DialogRequest> ParseDialogDatagram(absl::string_view datagram) {
  return ParseRequest(datagram, [](su_home_t* home, const sip_t* sip) {
    return DescribeDialogRequest(home, sip);
  });
}

}  // namespace trunkline::signaling
