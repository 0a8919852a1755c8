#include "services/signaling/credential_store.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace trunkline::signaling {

CredentialStore CredentialStore::FromTopology(
    const v1::Topology& topology, std::vector<std::string>* problems) {
  CredentialStore store;
  for (const v1::Credential& c : topology.credentials()) {
    std::ifstream in(c.password_file(), std::ios::binary);
    if (!in) {
      problems->push_back(absl::StrCat(
          "credential \"", c.name(), "\": cannot read its passwordFile ",
          c.password_file(), " (", std::strerror(errno),
          "); challenges from its trunks will not be answered"));
      continue;
    }
    std::stringstream content;
    content << in.rdbuf();
    DigestCredential credential;
    credential.username = c.username();
    credential.realm = c.realm();
    // Secret files often end with a newline nobody meant as part of the
    // password.
    credential.password =
        std::string(absl::StripTrailingAsciiWhitespace(content.str()));
    store.credentials_[c.name()] = std::move(credential);
  }
  return store;
}

const DigestCredential* CredentialStore::Find(const std::string& name) const {
  auto it = credentials_.find(name);
  return it == credentials_.end() ? nullptr : &it->second;
}

}  // namespace trunkline::signaling
