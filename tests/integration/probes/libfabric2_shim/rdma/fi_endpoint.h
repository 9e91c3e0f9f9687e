/* preflight test shim, not libfabric code (see fabric.h here): what libfabric >= 2.0 deprecates in
 * <rdma/fi_endpoint.h>. */
#ifndef PREFLIGHT_LIBFABRIC2_SHIM_FI_ENDPOINT_H
#define PREFLIGHT_LIBFABRIC2_SHIM_FI_ENDPOINT_H

#include_next <rdma/fi_endpoint.h>

#if FI_MAJOR_VERSION < 2
#ifdef __cplusplus
extern "C" {
#endif
__attribute__((deprecated)) static inline ssize_t fi_rx_size_left(struct fid_ep *ep);
__attribute__((deprecated)) static inline ssize_t fi_tx_size_left(struct fid_ep *ep);
#ifdef __cplusplus
}
#endif
#endif

#endif
