#include "services/common/topology/defaults.h"

#include <algorithm>

#include "services/common/topology/lookup.h"

namespace trunkline {
namespace {

constexpr uint32_t kSipPort = 5060;
constexpr uint32_t kSipsPort = 5061;

bool OnlyTls(const v1::Listener& listener) {
  return listener.transports_size() > 0 &&
         std::all_of(listener.transports().begin(), listener.transports().end(),
                     [](int t) { return t == v1::TRANSPORT_TLS; });
}

}  // namespace

void ApplyTrunkConfigurationDefaults(v1::TrunkConfiguration* c) {
  if (c->srtp_mode() == v1::SRTP_MODE_UNSPECIFIED) {
    c->set_srtp_mode(v1::SRTP_MODE_REQUIRED);
  }
  if (!c->has_concentrated_topology()) c->set_concentrated_topology(true);
  if (c->refer_mode() == v1::REFER_MODE_UNSPECIFIED) {
    // A Lync configuration carried over: Enable3pccRefer is the Mediation
    // Server carrying out the transfer itself, our terminate mode.
    c->set_refer_mode(c->enable_3pcc_refer() ? v1::REFER_MODE_TERMINATE
                                             : v1::REFER_MODE_PASSTHROUGH);
  }
  v1::SessionTimer* st = c->mutable_session_timer();
  if (st->min_se_seconds() == 0) st->set_min_se_seconds(90);
  if (st->session_expires_seconds() == 0) {
    st->set_session_expires_seconds(std::max(1800u, st->min_se_seconds()));
  }
  if (st->refresher() == v1::SESSION_REFRESHER_UNSPECIFIED) {
    st->set_refresher(v1::SESSION_REFRESHER_NEGOTIATE);
  }
  if (!c->has_rtcp_active_calls()) c->set_rtcp_active_calls(true);
  if (!c->has_rtcp_calls_on_hold()) c->set_rtcp_calls_on_hold(true);
  if (c->max_early_dialogs() == 0) c->set_max_early_dialogs(20);
  if (!c->has_enable_fast_failover_timer()) {
    c->set_enable_fast_failover_timer(true);
  }
  if (c->fast_failover_seconds() == 0) c->set_fast_failover_seconds(10);
  if (c->failover_response_codes_size() == 0) {
    for (uint32_t code : {408u, 503u, 504u})
      c->add_failover_response_codes(code);
  }
  v1::KeepaliveSettings* ka = c->mutable_keepalive();
  if (!ka->has_enabled()) ka->set_enabled(true);
  if (ka->interval_seconds() == 0) ka->set_interval_seconds(60);
  if (ka->down_threshold() == 0) ka->set_down_threshold(3);
  if (c->registration().expires_seconds() == 0) {
    c->mutable_registration()->set_expires_seconds(3600);
  }
  if (c->media_timeout_seconds() == 0) c->set_media_timeout_seconds(30);
}

void ApplyTopologyDefaults(v1::Topology* t) {
  for (v1::Pool& pool : *t->mutable_pools()) {
    for (v1::Listener& l : *pool.mutable_listeners()) {
      if (l.transports_size() == 0) {
        l.add_transports(v1::TRANSPORT_UDP);
        l.add_transports(v1::TRANSPORT_TCP);
      }
      if (l.port() == 0) l.set_port(OnlyTls(l) ? kSipsPort : kSipPort);
      if (l.advertised_address().empty()) l.set_advertised_address(l.address());
    }
  }
  for (v1::Gateway& gw : *t->mutable_gateways()) {
    if (gw.transport() == v1::TRANSPORT_UNSPECIFIED) {
      gw.set_transport(v1::TRANSPORT_UDP);
    }
    // A gateway located by SRV takes its ports from the records.
    if (gw.port() == 0 && !gw.dns_srv()) {
      gw.set_port(gw.transport() == v1::TRANSPORT_TLS ? kSipsPort : kSipPort);
    }
  }
  bool has_global = false;
  for (v1::TrunkConfiguration& c : *t->mutable_trunk_configurations()) {
    ApplyTrunkConfigurationDefaults(&c);
    has_global |= c.name() == kGlobalName;
  }
  if (!has_global) {
    v1::TrunkConfiguration* global = t->add_trunk_configurations();
    global->set_name(kGlobalName);
    global->set_description("defaults (no global configuration was written)");
    ApplyTrunkConfigurationDefaults(global);
  }
  for (v1::Trunk& trunk : *t->mutable_trunks()) {
    const v1::Pool* pool = FindPool(*t, trunk.pool());
    const v1::Gateway* gw = FindGateway(*t, trunk.gateway());
    if (pool && trunk.listener().empty() && pool->listeners_size() > 0) {
      trunk.set_listener(pool->listeners(0).name());
    }
    const v1::Listener* listener =
        pool ? FindListener(*pool, trunk.listener()) : nullptr;
    if (listener && trunk.local_port() == 0)
      trunk.set_local_port(listener->port());
    if (gw && trunk.remote_port() == 0) trunk.set_remote_port(gw->port());
    if (gw && trunk.transport() == v1::TRANSPORT_UNSPECIFIED) {
      trunk.set_transport(gw->transport());
    }
    if (trunk.configuration().empty()) trunk.set_configuration(kGlobalName);
    if (!trunk.has_enabled()) trunk.set_enabled(true);
    if (trunk.dial_plan().empty()) {
      for (const v1::DialPlan& dp : t->dial_plans()) {
        if (dp.scope() == v1::DIAL_PLAN_SCOPE_TRUNK &&
            dp.target() == trunk.name()) {
          trunk.set_dial_plan(dp.name());
          break;
        }
      }
    }
  }
  for (v1::VoiceRoute& route : *t->mutable_voice_routes()) {
    for (v1::RouteTrunk& rt : *route.mutable_trunks()) {
      if (rt.weight() == 0) rt.set_weight(1);
    }
  }
  for (v1::VoicePolicy& vp : *t->mutable_voice_policies()) {
    if (vp.caller_id().mode() == v1::CALLER_ID_MODE_UNSPECIFIED) {
      vp.mutable_caller_id()->set_mode(v1::CALLER_ID_MODE_LINE_URI);
    }
  }
  for (v1::UcNextHop& hop : *t->mutable_uc_side()->mutable_next_hops()) {
    if (hop.weight() == 0) hop.set_weight(1);
    if (hop.srtp_mode() == v1::SRTP_MODE_UNSPECIFIED) {
      hop.set_srtp_mode(v1::SRTP_MODE_REQUIRED);
    }
    if (hop.pool().empty() && t->pools_size() > 0) {
      hop.set_pool(t->pools(0).name());
    }
    const v1::Pool* pool = FindPool(*t, hop.pool());
    if (pool && hop.listener().empty() && pool->listeners_size() > 0) {
      hop.set_listener(pool->listeners(0).name());
    }
  }
}

}  // namespace trunkline
