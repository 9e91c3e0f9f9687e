# PREFLIGHT_PCH: precompile the heavy headers (the standard library, nlohmann/json, fmt, GoogleTest)
# once per target instead of once per translation unit. Parsing them is most of the front end's
# time in a typical file here; with two cores this is minutes of every clean build.
# preflight_precompile_headers() runs after every target is defined and applies to each C++
# library and executable of the project with at least two translation units (a single file gains
# nothing from a header precompiled for it alone).
#
# On by default with clang only. GCC 12 reports -Warray-bounds false
# positives inside libstdc++ when those headers come from a precompiled header (the system-header
# exemption is lost), which -Werror turns into a failed build; and its .gch files are 125 MB per
# target with -g.
include(PreflightTargets)
set(_preflight_pch_default OFF)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  set(_preflight_pch_default ON)
endif()
option(PREFLIGHT_PCH "Precompile the heavy headers per target" ${_preflight_pch_default})

set(_preflight_pch_headers
  <algorithm> <array> <chrono> <cstddef> <cstdint> <functional> <map> <memory> <optional>
  <span> <string> <string_view> <utility> <vector>
  <fmt/format.h> <nlohmann/json.hpp>)
set(_preflight_pch_test_headers <gtest/gtest.h> <gmock/gmock.h>)

function(preflight_precompile_headers)
  if(NOT PREFLIGHT_PCH)
    return()
  endif()
  preflight_project_targets(targets TYPES STATIC_LIBRARY SHARED_LIBRARY EXECUTABLE)
  foreach(target IN LISTS targets)
    get_target_property(sources ${target} SOURCES)
    list(FILTER sources INCLUDE REGEX "\\.cpp$")
    list(LENGTH sources source_count)
    if(source_count LESS 2)
      continue()
    endif()
    set(headers ${_preflight_pch_headers})
    get_target_property(links ${target} LINK_LIBRARIES)
    if(links MATCHES "GTest::")
      list(APPEND headers ${_preflight_pch_test_headers})
    endif()
    list(TRANSFORM headers PREPEND "$<$<COMPILE_LANGUAGE:CXX>:" )
    list(TRANSFORM headers APPEND ">")
    target_precompile_headers(${target} PRIVATE ${headers})
  endforeach()
endfunction()
