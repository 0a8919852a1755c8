# The libraries Trunkline links, all from Debian 12.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(yaml-cpp REQUIRED)
# libcrypto (Debian's OpenSSL, already under gRPC and Sofia-SIP) for SIP digest
# authentication's MD5 and SHA-256.
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(GTest REQUIRED)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
if(TRUNKLINE_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()

# yaml-cpp 0.7 in Debian exports `yaml-cpp` without a namespace.
if(TARGET yaml-cpp AND NOT TARGET yaml-cpp::yaml-cpp)
  add_library(yaml-cpp::yaml-cpp ALIAS yaml-cpp)
endif()
