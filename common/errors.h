/* Error codes shared by every anyns program and library: functions return 0
 * or a negative ANYNS_E* code; results come back through out-parameters. */
#ifndef ANYNS_ERRORS_H
#define ANYNS_ERRORS_H

enum anyns_err {
	ANYNS_EOK      = 0,
	ANYNS_ENOMEM   = -12,
	ANYNS_EINVAL   = -22,
	ANYNS_ESPACE   = -28,   /* output buffer too small */
	ANYNS_EMALF    = -1000, /* malformed wire data */
	ANYNS_EZONE    = -1001, /* zone failed its checks or did not parse */
	ANYNS_EDROP    = -1002, /* answer_build: send nothing (e.g. QR=1 or header too short) */
	ANYNS_ENOENT   = -1003,
	ANYNS_EFULL    = -1004, /* a change only a full build can apply */
};
const char *anyns_strerror(int err);

#endif
