/*
 * canned: the least work a FastDFS tracker and storage can do for FastDFS's
 * test_download program, as a bound on what any server could reach on a
 * machine: a tracker port that answers every QUERY_FETCH_ONE (102) with the
 * storage port's address, and a storage port that answers every
 * DOWNLOAD_FILE (14) with CONTENT_SIZE zero bytes (no file is opened), each
 * served by one thread running one epoll loop, replies in one write.
 *
 *   cc -O2 -pthread -o canned scripts/bench/canned.c
 *   ./canned TRACKER_IP STORAGE_IP   (ports 22122 and 23000)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONTENT_SIZE 5120
#define MAX_FDS 65536
#define BUF 65536

struct port {
	const char *ip;
	int port;
	int storage; /* 1: answer downloads, 0: answer queries */
};

static const char *storage_ip;
static unsigned char *in[MAX_FDS];
static int inlen[MAX_FDS];

static void put64(unsigned char *b, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = v & 0xff;
}

static uint64_t get64(const unsigned char *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

/* reply writes one response packet: header and body in one write. */
static int reply(int fd, const unsigned char *body, int n)
{
	static __thread unsigned char out[10 + CONTENT_SIZE + 64];
	put64(out, n);
	out[8] = 100;
	out[9] = 0;
	if (n > 0)
		memcpy(out + 10, body, n);
	return write(fd, out, 10 + n) == 10 + n ? 0 : -1;
}

/* serve answers every whole request in fd's buffer; -1 closes the connection. */
static int serve(int fd, int storage)
{
	static __thread unsigned char body[CONTENT_SIZE + 64];
	int off = 0;
	while (inlen[fd] - off >= 10) {
		unsigned char *h = in[fd] + off;
		uint64_t len = get64(h);
		if (len > BUF - 10)
			return -1;
		if (inlen[fd] - off < 10 + (int)len)
			break;
		int cmd = h[8], n = 0;
		if (cmd == 82) /* QUIT */
			return -1;
		if (storage && cmd == 14) {
			memset(body, 0, CONTENT_SIZE);
			n = CONTENT_SIZE;
		} else if (!storage && cmd == 102) {
			/* group (16), the storage's IP (15), port (8) */
			memset(body, 0, 39);
			memcpy(body, h + 10, len < 16 ? len : 16);
			strncpy((char *)body + 16, storage_ip, 15);
			put64(body + 31, 23000);
			n = 39;
		}
		if (reply(fd, body, n) != 0)
			return -1;
		off += 10 + len;
	}
	memmove(in[fd], in[fd] + off, inlen[fd] - off);
	inlen[fd] -= off;
	return 0;
}

static void *loop(void *arg)
{
	struct port *p = arg;
	int one = 1, ln = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(p->port)};
	inet_pton(AF_INET, p->ip, &a.sin_addr);
	setsockopt(ln, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(ln, (struct sockaddr *)&a, sizeof a) || listen(ln, 1024)) {
		perror(p->ip);
		exit(1);
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = ln}, evs[256];
	epoll_ctl(ep, EPOLL_CTL_ADD, ln, &ev);
	for (;;) {
		int k = epoll_wait(ep, evs, 256, -1);
		for (int i = 0; i < k; i++) {
			int fd = evs[i].data.fd;
			if (fd == ln) {
				int c = accept4(ln, NULL, NULL, SOCK_NONBLOCK);
				if (c < 0 || c >= MAX_FDS) {
					if (c >= 0)
						close(c);
					continue;
				}
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
				if (!in[c])
					in[c] = malloc(BUF);
				inlen[c] = 0;
				ev.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				continue;
			}
			int r = read(fd, in[fd] + inlen[fd], BUF - inlen[fd]);
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0 || (inlen[fd] += r, serve(fd, p->storage)) != 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
			}
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s TRACKER_IP STORAGE_IP\n", argv[0]);
		return 2;
	}
	storage_ip = argv[2];
	struct port t = {argv[1], 22122, 0}, s = {argv[2], 23000, 1};
	pthread_t th;
	pthread_create(&th, NULL, loop, &t);
	loop(&s);
	return 0;
}
