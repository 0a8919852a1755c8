// Runs a libFuzzer entry point over files when the build has no libFuzzer
// (gcc builds): every seed is replayed, so the target is built and exercised
// in every build, and a crash on a seed fails the test. Arguments are files
// or directories (read one level deep).
#include <dirent.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Collect(const std::string& path, std::vector<std::string>* files) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    files->push_back(path);
    return;
  }
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string child = path + "/" + name;
    if (stat(child.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      files->push_back(child);
    }
  }
  closedir(dir);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) Collect(argv[i], &files);
  if (files.empty()) {
    std::fprintf(stderr, "no seed files found\n");
    return 1;
  }
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    const std::string data = bytes.str();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()),
                           data.size());
    // Also every prefix length class: truncated input is the common fuzz find.
    for (size_t cut = data.size() / 2; cut > 0; cut /= 2) {
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()),
                             cut);
    }
  }
  std::printf("replayed %zu seed files\n", files.size());
  return 0;
}
