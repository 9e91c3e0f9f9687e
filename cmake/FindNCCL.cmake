# FindNCCL: the NCCL headers (nccl.h), for the build-time check of preflight's NCCL function
# table; NCCL itself is loaded at run time and never linked. NCCL_LIBRARY is recorded when found.
# Honours NCCL_HOME / NCCL_ROOT (CMake variable or environment) first, then the layouts NCCL is
# shipped in: the CUDA toolkit (/usr/local/cuda/lib and lib64, /usr/local/cuda-X.Y), the AWS deep
# learning containers (/opt/nccl/build) and the distribution (/usr).
# Sets NCCL_FOUND, NCCL_VERSION, NCCL_INCLUDE_DIR, NCCL_LIBRARY.

set(_nccl_hints)
foreach(_var NCCL_HOME NCCL_ROOT)
  if(DEFINED ${_var})
    list(APPEND _nccl_hints ${${_var}})
  endif()
  if(DEFINED ENV{${_var}})
    list(APPEND _nccl_hints $ENV{${_var}})
  endif()
endforeach()
if(CUDAToolkit_LIBRARY_ROOT)
  list(APPEND _nccl_hints ${CUDAToolkit_LIBRARY_ROOT})
endif()
file(GLOB _nccl_cuda_dirs LIST_DIRECTORIES true /usr/local/cuda /usr/local/cuda-*)
list(APPEND _nccl_hints /opt/nccl/build ${_nccl_cuda_dirs})

find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${_nccl_hints} PATH_SUFFIXES include)
find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${_nccl_hints}
             PATH_SUFFIXES lib lib64 lib/x86_64-linux-gnu lib/aarch64-linux-gnu)

if(NCCL_INCLUDE_DIR AND EXISTS ${NCCL_INCLUDE_DIR}/nccl.h)
  file(STRINGS ${NCCL_INCLUDE_DIR}/nccl.h _nccl_version_lines
       REGEX "^#define NCCL_(MAJOR|MINOR|PATCH)[ \t]+[0-9]+")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX MATCH "NCCL_${_part}[ \t]+([0-9]+)" _match "${_nccl_version_lines}")
    set(NCCL_VERSION_${_part} ${CMAKE_MATCH_1})
  endforeach()
  set(NCCL_VERSION "${NCCL_VERSION_MAJOR}.${NCCL_VERSION_MINOR}.${NCCL_VERSION_PATCH}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NCCL REQUIRED_VARS NCCL_INCLUDE_DIR VERSION_VAR NCCL_VERSION)
mark_as_advanced(NCCL_INCLUDE_DIR NCCL_LIBRARY)
