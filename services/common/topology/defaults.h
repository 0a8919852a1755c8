// Fills in the documented defaults of topology.proto, so that the loaded
// topology shows every effective setting and nothing downstream has to know a
// default. Runs after validation.
#ifndef TRUNKLINE_SERVICES_COMMON_TOPOLOGY_DEFAULTS_H_
#define TRUNKLINE_SERVICES_COMMON_TOPOLOGY_DEFAULTS_H_

#include "trunkline/v1/topology.pb.h"

namespace trunkline {

inline constexpr char kGlobalName[] = "global";

void ApplyTopologyDefaults(v1::Topology* topology);

// The defaults of a trunk configuration on their own (Lync's global
// configuration as shipped, with Teams' failover codes).
void ApplyTrunkConfigurationDefaults(v1::TrunkConfiguration* configuration);

}  // namespace trunkline

#endif  // TRUNKLINE_SERVICES_COMMON_TOPOLOGY_DEFAULTS_H_
