/* preflight test shim, not libfabric code: the installed <rdma/fabric.h> (1.x) with the names
 * libfabric >= 2.0 deprecates turned into the "deprecated" #pragma warning 2.x headers expand them
 * to, and the names 2.x removes poisoned. check_fabric_headers.py puts this directory first on
 * the include path, so a -Werror build fails here exactly where it would against AWS's 2.x
 * headers. Keep the lists in step with libfabric's include/rdma (2.x release notes). */
#ifndef PREFLIGHT_LIBFABRIC2_SHIM_FABRIC_H
#define PREFLIGHT_LIBFABRIC2_SHIM_FABRIC_H

#include_next <rdma/fabric.h>

#if FI_MAJOR_VERSION < 2
#undef FI_MR_UNSPEC
#define FI_MR_UNSPEC _Pragma("GCC warning \"'FI_MR_UNSPEC' is deprecated\"") (0)
#undef FI_MR_BASIC
#define FI_MR_BASIC _Pragma("GCC warning \"'FI_MR_BASIC' is deprecated\"") (1 << 0)
#undef FI_MR_SCALABLE
#define FI_MR_SCALABLE _Pragma("GCC warning \"'FI_MR_SCALABLE' is deprecated\"") (1 << 1)
#undef FI_ORDER_NONE
#define FI_ORDER_NONE _Pragma("GCC warning \"'FI_ORDER_NONE' is deprecated\"") 0ULL
#undef FI_ORDER_STRICT
#define FI_ORDER_STRICT _Pragma("GCC warning \"'FI_ORDER_STRICT' is deprecated\"") 0x1FF
#undef FI_ORDER_DATA
#define FI_ORDER_DATA _Pragma("GCC warning \"'FI_ORDER_DATA' is deprecated\"") (1ULL << 16)
#undef FI_LOCAL_MR
#define FI_LOCAL_MR _Pragma("GCC warning \"'FI_LOCAL_MR' is deprecated\"") (1ULL << 55)

/* Gone in 2.x. */
#undef FI_HMEM_DEVICE_ONLY
#undef FI_HMEM_HOST_ALLOC
#undef FI_PROV_SPECIFIC
#pragma GCC poison FI_HMEM_DEVICE_ONLY FI_HMEM_HOST_ALLOC FI_PROV_SPECIFIC
#endif

#endif
