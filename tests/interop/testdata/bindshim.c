/*
 * bindshim: an LD_PRELOAD library that binds every outgoing IPv4 TCP
 * socket to $FDFS_BIND_IP before connect(), unless the program bound it
 * already.
 *
 * The upstream tracker has no client_bind option: on a real network its
 * connections to the other trackers leave from its own host address, but
 * on loopback (every daemon on its own 127.x address of one machine) the
 * kernel picks 127.0.0.1. tests/interop preloads this into the upstream
 * trackers so that they look, to the other trackers, as they would on
 * separate hosts. Built at test time: cc -shared -fPIC -o bindshim.so
 * bindshim.c -ldl
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    static connect_fn real_connect;
    const char *ip;
    struct sockaddr_in self;
    socklen_t self_len = sizeof(self);
    int saved_errno;

    if (real_connect == NULL) {
        real_connect = (connect_fn)dlsym(RTLD_NEXT, "connect");
    }
    ip = getenv("FDFS_BIND_IP");
    if (ip != NULL && addr != NULL && addr->sa_family == AF_INET) {
        saved_errno = errno;
        memset(&self, 0, sizeof(self));
        /* not bound yet: getsockname says 0.0.0.0:0 */
        if (getsockname(fd, (struct sockaddr *)&self, &self_len) == 0 &&
                self.sin_family == AF_INET && self.sin_port == 0 &&
                self.sin_addr.s_addr == htonl(INADDR_ANY)) {
            memset(&self, 0, sizeof(self));
            self.sin_family = AF_INET;
            if (inet_pton(AF_INET, ip, &self.sin_addr) == 1) {
                bind(fd, (struct sockaddr *)&self, sizeof(self));
            }
        }
        errno = saved_errno;
    }
    return real_connect(fd, addr, len);
}
