// The digest credentials of the topology's `credentials` section, with their
// passwords read from their files (a Kubernetes Secret mount, say), so the
// B2BUA can answer a trunk's 401/407 without touching the file system on
// the SIP loop. Immutable once built; shared with the B2BUA like the
// PeerDirectory.
#ifndef TRUNKLINE_SERVICES_SIGNALING_CREDENTIAL_STORE_H_
#define TRUNKLINE_SERVICES_SIGNALING_CREDENTIAL_STORE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "trunkline/v1/topology.pb.h"

namespace trunkline::signaling {

struct DigestCredential {
  std::string username;
  // Realm to answer; empty answers any.
  std::string realm;
  std::string password;
};

class CredentialStore {
 public:
  // Reads every credential's password file. A file that cannot be read
  // leaves that credential out and adds a line to `problems` saying which
  // file and why: its trunk's challenges then go unanswered (the call fails
  // over), the rest of the topology still applies.
  static CredentialStore FromTopology(const v1::Topology& topology,
                                      std::vector<std::string>* problems);

  // The credential named `name` (a TrunkConfiguration's `credentials`), or
  // null.
  const DigestCredential* Find(const std::string& name) const;
  size_t size() const { return credentials_.size(); }

 private:
  absl::flat_hash_map<std::string, DigestCredential> credentials_;
};

}  // namespace trunkline::signaling

#endif  // TRUNKLINE_SERVICES_SIGNALING_CREDENTIAL_STORE_H_
