# trunkline_test(NAME SOURCES... DEPS ...): a GoogleTest binary beside the code,
# registered with ctest as NAME/Suite.Test (so `ctest -R NAME` selects it) and
# labelled "unit" so the sanitizer build can pick it.
function(trunkline_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  # One property value each: gtest_discover_tests splits lists.
  gtest_discover_tests(${name}
    TEST_PREFIX "${name}/"
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES LABELS unit ENVIRONMENT "TRUNKLINE_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()

# trunkline_fuzzer(NAME SOURCE DEPS ... SEEDS dir...): a libFuzzer target when
# TRUNKLINE_FUZZ is on; otherwise the same entry point linked with a driver
# that replays the seed files, so the target is built and run in every build.
function(trunkline_fuzzer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;SEEDS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  if(TRUNKLINE_FUZZ)
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    # libFuzzer writes new inputs into the first corpus directory: give it
    # one in the build tree so the seeds in the source tree stay as they are.
    set(corpus ${CMAKE_CURRENT_BINARY_DIR}/${name}_corpus)
    file(MAKE_DIRECTORY ${corpus})
    add_test(NAME ${name}
      COMMAND ${name} -max_total_time=20 -rss_limit_mb=2048 -timeout=10
              ${corpus} ${ARG_SEEDS})
  else()
    target_sources(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cc)
    add_test(NAME ${name} COMMAND ${name} ${ARG_SEEDS})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "fuzz;unit")
endfunction()
