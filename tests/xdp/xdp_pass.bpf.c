// SPDX-License-Identifier: GPL-2.0
/* Pass-through XDP program for the client end of the test veth pair: a veth
 * only receives XDP_TX'd frames from its peer when it runs an XDP program
 * itself (it then has the NAPI ring they are queued on). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
