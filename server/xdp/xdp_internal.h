/* Loader internals for the unit tests (tests/unit/test_xdp_loader.c), which
 * run the program on synthetic frames with BPF_PROG_TEST_RUN. Not for anynsd. */
#ifndef ANYNS_XDP_INTERNAL_H
#define ANYNS_XDP_INTERNAL_H

#include "anyns_xdp.h"

/* The loaded program's fd (owned by x). */
int anyns_xdp__prog_fd(const anyns_xdp_t *x);

#endif
