/* Messages for the ANYNS_E* codes. */
#include "errors.h"

const char *anyns_strerror(int err)
{
	switch (err) {
	case ANYNS_EOK:    return "success";
	case ANYNS_ENOMEM: return "out of memory";
	case ANYNS_EINVAL: return "invalid argument";
	case ANYNS_ESPACE: return "not enough space";
	case ANYNS_EMALF:  return "malformed data";
	case ANYNS_EZONE:  return "zone has errors";
	case ANYNS_EDROP:  return "packet dropped";
	case ANYNS_ENOENT: return "not found";
	case ANYNS_EFULL: return "needs a full build";
	default:           return "unknown error";
	}
}
