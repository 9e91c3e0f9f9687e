# Options PREFLIGHT_WITH_<FEATURE>: ON by default and kept ON only when the dependency is found.
# Every optional dependency becomes an imported target; nothing below uses raw paths.

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(fmt 9 REQUIRED)
find_package(CLI11 2 REQUIRED)

# The AWS layouts (EFA installer, DLAMI, deep-learning containers) next to the distribution ones.
set(PREFLIGHT_AWS_PREFIXES /opt/amazon/efa /opt/amazon/openmpi /opt/amazon/ofi-nccl /opt/nccl/build)
file(GLOB _preflight_cuda_prefixes LIST_DIRECTORIES true /usr/local/cuda /usr/local/cuda-*)
list(APPEND CMAKE_PREFIX_PATH ${PREFLIGHT_AWS_PREFIXES})
foreach(_prefix IN LISTS PREFLIGHT_AWS_PREFIXES)
  foreach(_libdir lib lib64)
    if(EXISTS ${_prefix}/${_libdir}/pkgconfig)
      set(ENV{PKG_CONFIG_PATH} "${_prefix}/${_libdir}/pkgconfig:$ENV{PKG_CONFIG_PATH}")
    endif()
  endforeach()
endforeach()

# CUDA and NCCL are loaded at run time and never linked: these two only find their headers, to
# check preflight's function tables against them at build time. The GPU code is built either way.
option(PREFLIGHT_WITH_CUDA "Check the CUDA runtime function table against the CUDA headers" ON)
option(PREFLIGHT_WITH_NCCL "Check the NCCL function table against nccl.h" ON)
option(PREFLIGHT_WITH_MPI "MPI bootstrap and MPI backends" ON)
option(PREFLIGHT_WITH_LIBFABRIC "libfabric point-to-point and provider probing" ON)
option(PREFLIGHT_WITH_HWLOC "hwloc topology discovery" ON)
option(PREFLIGHT_WITH_IBVERBS "ibverbs / efadv device queries" ON)
option(PREFLIGHT_WITH_SQLITE "SQLite regression history" ON)
option(PREFLIGHT_WITH_SIMDJSON "simdjson: reports and baselines read at memory speed" ON)

macro(preflight_feature_off feature why)
  message(STATUS "PREFLIGHT_WITH_${feature}=OFF: ${why}")
  set(PREFLIGHT_WITH_${feature} OFF CACHE BOOL "" FORCE)
endmacro()

# preflight_find_feature(FEATURE FOUND WHY COMMAND ARG...): when PREFLIGHT_WITH_<FEATURE> is ON,
# run COMMAND ARG... (a find_package or pkg_check_modules call) and turn the feature off, saying
# WHY, unless that set FOUND. A macro, not a function: what the call sets (LIBFABRIC_INCLUDE_DIRS,
# LIBFABRIC_VERSION, ...) is read beyond this file.
macro(preflight_find_feature feature found why command)
  if(PREFLIGHT_WITH_${feature})
    cmake_language(CALL ${command} ${ARGN})
    if(NOT ${found})
      preflight_feature_off(${feature} "${why}")
    endif()
  endif()
endmacro()

if(PREFLIGHT_WITH_CUDA AND NOT CUDAToolkit_ROOT AND _preflight_cuda_prefixes)
  list(GET _preflight_cuda_prefixes 0 CUDAToolkit_ROOT)
endif()
preflight_find_feature(CUDA CUDAToolkit_FOUND
  "CUDA toolkit headers >= 12 not found (set CUDAToolkit_ROOT)" find_package CUDAToolkit 12)

if(PREFLIGHT_WITH_NCCL)
  find_package(NCCL 2.18)
  if(NOT NCCL_FOUND OR NOT PREFLIGHT_WITH_CUDA)
    preflight_feature_off(NCCL "nccl.h >= 2.18 with the CUDA headers not found (set NCCL_HOME)")
  endif()
endif()

# /opt/amazon/openmpi is on CMAKE_PREFIX_PATH already (PREFLIGHT_AWS_PREFIXES).
preflight_find_feature(MPI MPI_CXX_FOUND "no MPI C++ bindings found (set MPI_HOME)"
  find_package MPI COMPONENTS CXX)
preflight_find_feature(LIBFABRIC LIBFABRIC_FOUND "pkg-config libfabric >= 1.14 not found"
  pkg_check_modules LIBFABRIC IMPORTED_TARGET libfabric>=1.14)
preflight_find_feature(HWLOC HWLOC_FOUND "pkg-config hwloc >= 2.0 not found"
  pkg_check_modules HWLOC IMPORTED_TARGET hwloc>=2.0)
preflight_find_feature(IBVERBS IBVERBS_FOUND "pkg-config libibverbs not found"
  pkg_check_modules IBVERBS IMPORTED_TARGET libibverbs)
set(PREFLIGHT_WITH_EFADV OFF)
if(PREFLIGHT_WITH_IBVERBS)
  pkg_check_modules(EFADV IMPORTED_TARGET libefa)
  set(PREFLIGHT_WITH_EFADV ${EFADV_FOUND})
endif()
preflight_find_feature(SQLITE SQLite3_FOUND "SQLite3 not found"
  find_package SQLite3)
# Without simdjson the reports are read through nlohmann's DOM only (the same results, slower).
preflight_find_feature(SIMDJSON simdjson_FOUND "simdjson >= 3 not found (Debian: libsimdjson-dev)"
  find_package simdjson 3 QUIET)

# cmakedefine01 reads these names.
foreach(_feature CUDA NCCL MPI LIBFABRIC HWLOC IBVERBS EFADV SQLITE SIMDJSON)
  set(PREFLIGHT_HAVE_${_feature} ${PREFLIGHT_WITH_${_feature}})
endforeach()
