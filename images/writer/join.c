/*
 * castiron-writer --join ID: one image write arriving on several streams
 * at once (images/frame.h, "split"), each an SSH session of its own, so
 * that several of castiron's threads encrypt one image.  Every stream is
 * a process of castiron-writer started by its own session's sshd; one
 * process must write the target (a block device is opened O_EXCL, once)
 * and check every range, so the lead, whose stream carries the table,
 * listens on an abstract unix socket named after ID, and each part hands
 * it its standard input and output (SCM_RIGHTS) with its stream's header
 * and then only waits for the lead's verdict, its exit status.  The lead
 * reads the parts' pipes itself: pack record j of the write is on stream
 * j mod n, and joined in that order the records are the mapped data,
 * cut by the table into ranges that are written and checked as in any
 * other stream.  A stream that ends early, says something out of turn,
 * or does not join in time fails the whole write; the lead's "done" or
 * "error" line goes to every stream, so each of castiron's sessions
 * hears how the write ended.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "images/writer/writer.h"
#include "lib/clock.h"
#include "lib/xmalloc.h"

/* How long a part may take to join, and its header to come. */
#define JOIN_WAIT_MS	(120 * 1000)
#define JOIN_TARGET	256
#define JOIN_MSG	(FRAME_HDR_LEN + JOIN_TARGET)

struct join_part {
	struct input	 in;		/* the part's stdin */
	int		 out;		/* its stdout */
	int		 ctl;		/* its process, for the verdict */
};

struct join {
	int			 lsock;
	unsigned		 n;
	struct frame_hdr	 hdr;
	char			 target[JOIN_TARGET];
	struct input		*ins[FRAME_MAX_STREAMS];
	struct join_part	 parts[FRAME_MAX_STREAMS];
	uint64_t		 rec;		/* the record being read */
	const uint8_t		*p;		/* its bytes at hand */
	size_t			 left;
	int			 last;		/* they end the record */
};

enum err_code
join_id_check(const char *id, struct err *err)
{
	size_t	 i, n = strlen(id);

	for (i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			break;
	if (n < 8 || n > 32 || i != n)
		return err_set(err, ERR_INVAL, "--join: \"%.40s\" is not 8 to "
		    "32 hex digits", id);
	return ERR_OK;
}

static socklen_t
join_addr(struct sockaddr_un *sa, const char *id)
{
	int	 n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* Abstract: nothing in the file system, gone with the lead. */
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1,
	    "castiron-writer.%s", id);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    (size_t)n);
}

struct join *
join_listen(const char *id, const struct frame_hdr *h, const char *target,
    struct err *err)
{
	struct sockaddr_un	 sa;
	struct join		*j;
	socklen_t		 len = join_addr(&sa, id);

	if (strlen(target) >= JOIN_TARGET) {
		err_set(err, ERR_INVAL, "%s: target path too long to join",
		    target);
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	j->n = h->streams;
	j->hdr = *h;
	snprintf(j->target, sizeof(j->target), "%s", target);
	j->lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (j->lsock == -1 || bind(j->lsock, (struct sockaddr *)&sa,
	    len) == -1 || listen(j->lsock, FRAME_MAX_STREAMS) == -1) {
		err_errno(err, ERR_WRONGSTATE, "--join %s: listen", id);
		if (j->lsock != -1)
			close(j->lsock);
		free(j);
		return NULL;
	}
	return j;
}

/* The part's header and target against the lead's; its index. */
static enum err_code
part_check(struct join *j, struct frame_dec *d, const uint8_t *msg,
    unsigned *k, struct err *err)
{
	const struct frame_hdr	*h;
	const uint8_t		*data;
	size_t			 used, dlen;

	if (frame_dec_feed(d, msg, FRAME_HDR_LEN, &used, &data, &dlen) !=
	    FRAME_EV_HDR)
		return err_set(err, ERR_FAIL, "a joining stream: %s",
		    frame_dec_error(d));
	h = frame_dec_hdr(d);
	if (!(h->flags & FRAME_F_PART) || h->streams != j->n ||
	    h->image_size != j->hdr.image_size ||
	    h->mapped_bytes != j->hdr.mapped_bytes)
		return err_set(err, ERR_FAIL, "a joining stream is not a part "
		    "of this write");
	if (strncmp((const char *)msg + FRAME_HDR_LEN, j->target,
	    JOIN_TARGET) != 0)
		return err_set(err, ERR_FAIL, "stream %u joins for another "
		    "target", h->stream);
	if (j->ins[h->stream] != NULL)
		return err_set(err, ERR_FAIL, "stream %u joined twice",
		    h->stream);
	*k = h->stream;
	return ERR_OK;
}

/* Receives one part's message and descriptors on conn (closed on
 * failure). */
static enum err_code
part_take(struct join *j, int conn, struct err *err)
{
	union {
		struct cmsghdr	 h;
		char		 buf[CMSG_SPACE(2 * sizeof(int))];
	} cm;
	struct msghdr		 mh;
	struct iovec		 iov;
	struct cmsghdr		*c;
	struct ucred		 cr;
	struct pollfd		 pfd = { .fd = conn, .events = POLLIN };
	struct join_part	*p;
	struct frame_dec	*d;
	struct frame_report	 r;
	uint8_t			 msg[JOIN_MSG];
	socklen_t		 crlen = sizeof(cr);
	int			 fds[2] = { -1, -1 };
	unsigned		 k = 0;
	ssize_t			 n;

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == -1 ||
	    cr.uid != getuid()) {
		close(conn);
		return err_set(err, ERR_FAIL, "a stream joined from another "
		    "user");
	}
	if (poll(&pfd, 1, JOIN_WAIT_MS) != 1) {
		close(conn);
		return err_set(err, ERR_FAIL, "a joining stream said nothing");
	}
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = msg;
	iov.iov_len = sizeof(msg);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	n = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	c = CMSG_FIRSTHDR(&mh);
	if (c != NULL && c->cmsg_level == SOL_SOCKET &&
	    c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(2 * sizeof(int)))
		memcpy(fds, CMSG_DATA(c), sizeof(fds));
	if (n != (ssize_t)sizeof(msg) || fds[0] == -1 || fds[1] == -1 ||
	    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (fds[0] != -1)
			close(fds[0]);
		if (fds[1] != -1)
			close(fds[1]);
		close(conn);
		return err_set(err, ERR_FAIL, "a joining stream sent no "
		    "descriptors");
	}
	d = frame_dec_new();
	if (part_check(j, d, msg, &k, err) != ERR_OK) {
		frame_dec_free(d);
		close(fds[0]);
		close(fds[1]);
		close(conn);
		return ERR_FAIL;
	}
	p = &j->parts[k];
	p->in.fd = fds[0];
	p->in.d = d;
	p->in.buf = xmalloc(WR_IN_BUF);
	p->out = fds[1];
	p->ctl = conn;
	j->ins[k] = &p->in;
	wr_report_also(p->out);
	/* Its session may send now. */
	memset(&r, 0, sizeof(r));
	r.kind = FRAME_REP_READY;
	snprintf(r.target, sizeof(r.target), "%s", j->target);
	r.image_bytes = j->hdr.image_size;
	r.mapped_bytes = j->hdr.mapped_bytes;
	{
		char	 line[FRAME_LINE_MAX + 2];
		size_t	 len = frame_report_format(line, sizeof(line), &r);

		if (write(p->out, line, len) != (ssize_t)len)
			return err_errno(err, ERR_FAIL, "stream %u: writing "
			    "its report", k);
	}
	return ERR_OK;
}

/* Takes joining parts until stream k is there: within JOIN_WAIT_MS, and
 * only while the lead's own session lasts (its stdin hung up: castiron
 * gave up the write). */
static enum err_code
join_wait(struct join *j, unsigned k, struct err *err)
{
	uint64_t	 deadline = mono_ms() + JOIN_WAIT_MS;
	struct pollfd	 pfd[2];
	int		 conn;

	while (j->ins[k] == NULL) {
		uint64_t now = mono_ms();

		if (now >= deadline)
			return err_set(err, ERR_FAIL, "stream %u of %u did not "
			    "join within %d s", k, j->n, JOIN_WAIT_MS / 1000);
		pfd[0].fd = j->lsock;
		pfd[0].events = POLLIN;
		pfd[1].fd = j->ins[0]->fd;
		pfd[1].events = 0;
		if (poll(pfd, 2, (int)(deadline - now)) == -1 && errno != EINTR)
			return err_errno(err, ERR_FAIL, "poll");
		if (pfd[1].revents & (POLLHUP | POLLERR))
			return err_set(err, ERR_FAIL, "the lead stream hung up "
			    "while stream %u of %u had not joined", k, j->n);
		if (!(pfd[0].revents & POLLIN))
			continue;
		if ((conn = accept4(j->lsock, NULL, NULL, SOCK_CLOEXEC)) ==
		    -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return err_errno(err, ERR_FAIL, "accept");
		}
		if (part_take(j, conn, err) != ERR_OK)
			return ERR_FAIL;
	}
	return ERR_OK;
}

/* The next bytes of the joined records into j->p, j->left. */
static enum err_code
join_more(struct join *j, struct err *err)
{
	unsigned	 s;
	enum frame_ev	 ev;

	while (j->left == 0) {
		s = (unsigned)(j->rec % j->n);
		if (j->ins[s] == NULL && join_wait(j, s, err) != ERR_OK)
			return ERR_FAIL;
		if (wr_in_next(j->ins[s], &ev, &j->p, &j->left, err) != ERR_OK)
			return err_prefix(err, "stream %u", s);
		if (ev == FRAME_EV_END)
			return err_set(err, ERR_FAIL, "stream %u ended at record "
			    "%llu of the write, before the mapped data did", s,
			    (unsigned long long)j->rec);
		if (ev != FRAME_EV_PACKED)
			return err_set(err, ERR_FAIL, "stream %u: a record "
			    "inside the data", s);
		j->last = frame_dec_pack_left(j->ins[s]->d) == 0;
	}
	return ERR_OK;
}

static void
join_take(struct join *j, size_t n)
{
	j->p += n;
	j->left -= n;
	if (j->left == 0 && j->last)
		j->rec++;
}

/* After the data: every stream at its end record, the parts' digests
 * the lead's. */
static enum err_code
join_ends(struct join *j, struct err *err)
{
	const uint8_t	*data;
	size_t		 dlen;
	enum frame_ev	 ev;
	unsigned	 s;

	if (j->left > 0)
		return err_set(err, ERR_FAIL, "record %llu runs past the "
		    "mapped data", (unsigned long long)j->rec);
	for (s = 0; s < j->n; s++) {
		if (j->ins[s] == NULL && join_wait(j, s, err) != ERR_OK)
			return ERR_FAIL;
		if (wr_in_next(j->ins[s], &ev, &data, &dlen, err) != ERR_OK)
			return err_prefix(err, "stream %u", s);
		if (ev != FRAME_EV_END)
			return err_set(err, ERR_FAIL, "stream %u carries more "
			    "than the mapped data", s);
	}
	for (s = 1; s < j->n; s++)
		if (memcmp(frame_dec_digest(j->ins[s]->d),
		    frame_dec_digest(j->ins[0]->d), FRAME_DIGEST_LEN) != 0)
			return err_set(err, ERR_FAIL, "stream %u ends with "
			    "another write's digest", s);
	return ERR_OK;
}

enum err_code
join_write(struct join *j, struct packed *pk, struct input *lead,
    const uint8_t *data, size_t dlen, struct err *err)
{
	uint64_t	 i, len, left;
	size_t		 n;

	j->ins[0] = lead;
	j->p = data;
	j->left = dlen;
	j->last = frame_dec_pack_left(lead->d) == 0;
	for (i = 0; i < pk->n; i++) {
		len = pk->vb.r[i].last - pk->vb.r[i].first + 1;
		if (img_wr_begin(pk->w, pk->off[i], len, err) != ERR_OK)
			return ERR_FAIL;
		for (left = len; left > 0; left -= n) {
			if (join_more(j, err) != ERR_OK)
				return ERR_FAIL;
			n = j->left < left ? j->left : (size_t)left;
			if (wr_stage_data(pk->w, j->p, n, err) != ERR_OK)
				return ERR_FAIL;
			join_take(j, n);
		}
		if (wr_flush_stage(pk->w, err) != ERR_OK ||
		    img_wr_end(pk->w, pk->vb.r[i].sha256, err) != ERR_OK)
			return ERR_FAIL;
	}
	return join_ends(j, err);
}

void
join_end(struct join *j, int code)
{
	struct join_part	*p;
	unsigned char		 v = (unsigned char)code;
	unsigned		 k;

	if (j == NULL)
		return;
	for (k = 1; k < FRAME_MAX_STREAMS; k++) {
		p = &j->parts[k];
		if (j->ins[k] == NULL)
			continue;
		close(p->in.fd);
		close(p->out);
		(void)send(p->ctl, &v, 1, MSG_NOSIGNAL);
		close(p->ctl);
		frame_dec_free(p->in.d);
		free(p->in.buf);
	}
	close(j->lsock);
	free(j);
}

/* A part's own last word, when the lead cannot give one. */
static int
part_fail(const char *what, const char *why)
{
	struct frame_report	 r;

	memset(&r, 0, sizeof(r));
	r.kind = FRAME_REP_ERROR;
	r.exit_code = 1;
	snprintf(r.msg, sizeof(r.msg), "%s%s%s", what, why ? ": " : "",
	    why ? why : "");
	wr_report(&r);
	return 1;
}

int
join_part(const char *id, const uint8_t hdr[FRAME_HDR_LEN],
    const char *target)
{
	union {
		struct cmsghdr	 h;
		char		 buf[CMSG_SPACE(2 * sizeof(int))];
	} cm;
	struct sockaddr_un	 sa;
	struct msghdr		 mh;
	struct iovec		 iov;
	struct cmsghdr		*c;
	struct pollfd		 pfd[2];
	uint8_t			 msg[JOIN_MSG];
	uint64_t		 deadline = mono_ms() + JOIN_WAIT_MS;
	socklen_t		 len = join_addr(&sa, id);
	int			 s, fds[2] = { STDIN_FILENO, STDOUT_FILENO }, nul;
	unsigned char		 v;
	ssize_t			 n;

	if (strlen(target) >= JOIN_TARGET)
		return part_fail(target, "target path too long to join");
	/* The lead may not be listening yet: its session started at the
	 * same time as this one. */
	for (;;) {
		s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (s == -1)
			return part_fail("socket", strerror(errno));
		if (connect(s, (struct sockaddr *)&sa, len) == 0)
			break;
		close(s);
		if ((errno != ECONNREFUSED && errno != ENOENT &&
		    errno != EAGAIN) || mono_ms() >= deadline)
			return part_fail("no writer leads this write", id);
		pfd[0].fd = STDOUT_FILENO;
		pfd[0].events = 0;
		if (poll(pfd, 1, 20) == 1)	/* castiron hung up */
			return 1;
	}
	memset(msg, 0, sizeof(msg));
	memcpy(msg, hdr, FRAME_HDR_LEN);
	memcpy(msg + FRAME_HDR_LEN, target, strlen(target));
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = msg;
	iov.iov_len = sizeof(msg);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	memset(&cm, 0, sizeof(cm));
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(s, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(msg))
		return part_fail("handing the stream over", strerror(errno));
	/* The lead reads it now; this process keeps nothing of it open. */
	if ((nul = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1) {
		dup2(nul, STDIN_FILENO);
		close(nul);
	}
	for (;;) {
		pfd[0].fd = s;
		pfd[0].events = POLLIN;
		pfd[1].fd = STDOUT_FILENO;
		pfd[1].events = 0;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			return part_fail("poll", strerror(errno));
		}
		if (pfd[1].revents & (POLLERR | POLLHUP))
			return 1;	/* castiron hung up */
		if (pfd[0].revents == 0)
			continue;
		n = recv(s, &v, 1, 0);
		if (n == 1)
			return v;
		if (n == -1 && errno == EINTR)
			continue;
		return part_fail("the writer leading this write ended "
		    "without a verdict", NULL);
	}
}
