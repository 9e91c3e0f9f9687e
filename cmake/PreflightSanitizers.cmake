# PREFLIGHT_SANITIZE: empty, "address,undefined" or "thread". Applied to every target, so the
# libraries, binaries and tests of one build directory agree.
set(PREFLIGHT_SANITIZE "" CACHE STRING "Sanitizers: address,undefined | thread")
if(PREFLIGHT_SANITIZE)
  add_compile_options(-fsanitize=${PREFLIGHT_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${PREFLIGHT_SANITIZE})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND PREFLIGHT_SANITIZE MATCHES "address")
    # GCC 12 with -fsanitize=address reports -Wmaybe-uninitialized inside libstdc++'s
    # std::function and std::regex (GCC bugs 105562, 105616): false positives in system headers
    # that -Werror would turn into a failed build. The ordinary build keeps the warning.
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
endif()

# Every executable of a sanitizer build carries its runtime options (cmake/sanitizer_defaults.cpp)
# instead of relying on ASAN_OPTIONS and friends in the environment: ranks that mpirun starts on
# other hosts (the virtual cluster's namespaces, a real cluster) do not inherit the launching
# shell's environment. The environment still overrides them. libFuzzer targets are left out: they
# keep libFuzzer's own defaults, leak detection included (they load no plugins).
include(PreflightTargets)
function(preflight_sanitizer_defaults)
  if(NOT PREFLIGHT_SANITIZE)
    return()
  endif()
  preflight_project_targets(executables TYPES EXECUTABLE)
  foreach(target IN LISTS executables)
    get_target_property(link_options ${target} LINK_OPTIONS)
    if(NOT link_options MATCHES "-fsanitize=fuzzer")
      target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/cmake/sanitizer_defaults.cpp)
    endif()
  endforeach()
endfunction()
