/* Control-socket access (peercred.h). */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peercred.h"

int peercred_group(const char *name, gid_t *gid)
{
	struct group gr, *grp = NULL;
	char buf[4096];
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &grp) != 0 || grp == NULL)
		return -1;
	*gid = gr.gr_gid;
	return 0;
}

static bool member_of(uid_t uid, gid_t gid)
{
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL)
		return false;
	gid_t groups[256];
	int ng = 256;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) < 0)
		return false;
	for (int i = 0; i < ng; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

bool peercred_allowed(int fd, const gid_t *gid, char *who, size_t wlen)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		snprintf(who, wlen, "peer=unknown");
		return false;
	}
	snprintf(who, wlen, "uid=%u gid=%u pid=%d", (unsigned)cr.uid, (unsigned)cr.gid,
	         (int)cr.pid);
	if (cr.uid == 0 || cr.uid == geteuid())
		return true;
	return gid != NULL && (cr.gid == *gid || member_of(cr.uid, *gid));
}

int peercred_socket_mode(const char *path, const gid_t *gid)
{
	if (gid == NULL)
		return chmod(path, 0600);
	if (chown(path, (uid_t)-1, *gid) != 0)
		return -1;
	return chmod(path, 0660);
}
