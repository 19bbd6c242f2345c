/*
 * The owner of a provisioning run, and what a later run may do with a
 * host an earlier one left in `provisioning`.  A run is named by the
 * appliance's host name, its pid and its process's start (clock ticks
 * since boot, /proc/PID/stat field 22, with the boot's id): a pid reused
 * by another process, or the same pid after a reboot, is not the owner.
 * A host whose owner still runs is refused; one whose owner is gone from
 * this appliance is taken over; an owner on another appliance cannot be
 * seen from here, so taking its hosts needs the operator's --force.
 */
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "provision/prov_int.h"

#define BOOT_ID		"/proc/sys/kernel/random/boot_id"

/* Reads at most len - 1 bytes of a /proc file (whose size stat does not
 * tell) into buf; -1 with errno set. */
static ssize_t
proc_read(const char *path, char *buf, size_t len)
{
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	saved = errno;
	close(fd);
	errno = saved;
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/*
 * "TICKS@BOOT_ID" of process pid, into out; -1 with errno set (ENOENT:
 * no such process).
 */
static int
proc_start(pid_t pid, char *out, size_t outlen)
{
	char		 path[64], stat[1024], boot[64];
	const char	*p;
	int		 field;
	size_t		 n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (proc_read(path, stat, sizeof(stat)) <= 0)
		return -1;
	/* The command name, field 2, is in parentheses and may hold
	 * anything: count fields from the last ')'. */
	if ((p = strrchr(stat, ')')) == NULL) {
		errno = EINVAL;
		return -1;
	}
	for (field = 2; field < 22 && *p; field++) {
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	n = strspn(p, "0123456789");
	if (field != 22 || n == 0 || n > 20) {
		errno = EINVAL;
		return -1;
	}
	if (proc_read(BOOT_ID, boot, sizeof(boot)) <= 0)
		boot[0] = '\0';
	boot[strcspn(boot, "\n")] = '\0';
	snprintf(out, outlen, "%.*s@%s", (int)n, p, boot);
	return 0;
}

enum err_code
owner_self(struct inv_owner *o, struct err *err)
{
	memset(o, 0, sizeof(*o));
	if (gethostname(o->host, sizeof(o->host) - 1) == -1)
		return err_errno(err, ERR_FAIL, "gethostname");
	o->pid = (int64_t)getpid();
	if (proc_start(getpid(), o->start, sizeof(o->start)) == -1)
		return err_errno(err, ERR_FAIL, "/proc/self/stat: cannot read "
		    "this process's start time");
	return ERR_OK;
}

/* Whether the process o names still runs here.  When that cannot be
 * told (its /proc entry hidden from us), it does. */
static int
owner_alive(const struct inv_owner *o)
{
	char	 start[64];

	if (o->pid <= 0 || o->pid > INT_MAX)
		return 0;
	if (kill((pid_t)o->pid, 0) == -1 && errno == ESRCH)
		return 0;
	if (proc_start((pid_t)o->pid, start, sizeof(start)) == -1)
		return errno != ENOENT;
	return strcmp(start, o->start) == 0;
}

enum err_code
owner_may_take(const struct inv_owner *rec, const struct inv_owner *me,
    const char *hostname, int force, char *why, size_t whylen,
    struct err *err)
{
	if (rec->host[0] == '\0') {
		if (!force)
			return err_set(err, ERR_WRONGSTATE, "%s: is "
			    "provisioning, but no run is recorded as its "
			    "owner: --force takes it over (only if no run is "
			    "provisioning it)", hostname);
		snprintf(why, whylen, "taken over with --force (no run was "
		    "recorded as its owner) by pid %lld on %s",
		    (long long)me->pid, me->host);
		return ERR_OK;
	}
	if (strcmp(rec->host, me->host) != 0) {
		if (!force)
			return err_set(err, ERR_WRONGSTATE, "%s: is being "
			    "provisioned by pid %lld on %s, another appliance, "
			    "where castiron cannot see whether it runs: "
			    "--force takes it over (only if that run is "
			    "gone)", hostname, (long long)rec->pid, rec->host);
		snprintf(why, whylen, "taken over with --force from pid %lld "
		    "on %s (another appliance) by pid %lld on %s",
		    (long long)rec->pid, rec->host, (long long)me->pid,
		    me->host);
		return ERR_OK;
	}
	if (rec->pid == me->pid && strcmp(rec->start, me->start) == 0)
		return err_set(err, ERR_WRONGSTATE, "%s: is in this run "
		    "already (named twice?)", hostname);
	if (owner_alive(rec))
		return err_set(err, ERR_WRONGSTATE, "%s: is being "
		    "provisioned by pid %lld on %s, which is running; "
		    "refused", hostname,
		    (long long)rec->pid, rec->host);
	snprintf(why, whylen, "its run, pid %lld on %s (start %s), is gone: "
	    "taken over by pid %lld", (long long)rec->pid, rec->host,
	    rec->start, (long long)me->pid);
	return ERR_OK;
}
