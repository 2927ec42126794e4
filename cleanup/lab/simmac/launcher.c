/* The simulated Mac's fake tools, started without an interpreter: see fakeserver.py.
 *
 * A fake script whose shebang names this program runs as `launcher SCRIPT ARGS...`. The launcher hands its
 * standard streams (SCM_RIGHTS), the script, its arguments, environment, working folder and parent pid to the
 * fork server at SOCKET_PATH, then exits as the forked fake did: with its exit status, or killed by the same
 * signal. When the server is not there, it runs the script with PYTHON_PATH -S as the plain fakes do.
 *
 * Request: u32 payload length, u32 argc, u32 envc, then NUL-terminated strings: ppid, cwd, argv[1..], environ.
 * Reply: one i32, as Python's os.waitstatus_to_exitcode gives it; or INT32_MIN, then u32 payload length, argc and
 * envc and the strings path, argv, environ: a fake that ends in another program (launchctl asuser, sudo) asks the
 * launcher to exec it, so that it runs in the caller's process, as on a Mac. Build: cc -O2 -DSOCKET_PATH='"..."'
 * -DPYTHON_PATH='"..."' -o launcher launcher.c
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

static void fallback(int argc, char **argv) {
    char **args = calloc((size_t)argc + 2, sizeof(char *));
    if (!args) _exit(71);
    args[0] = PYTHON_PATH;
    args[1] = "-S";
    for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
    execv(PYTHON_PATH, args);
    fprintf(stderr, "%s: cannot run %s: %s\n", argv[1], PYTHON_PATH, strerror(errno));
    _exit(127);
}

struct buf { char *data; size_t len, cap; };

static void put(struct buf *b, const char *s) {
    size_t n = strlen(s) + 1;
    if (b->len + n > b->cap) {
        size_t cap = (b->cap + n) * 2;
        char *d = realloc(b->data, cap);
        if (!d) _exit(71);
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static int recv_all(int s, char *p, size_t n) {
    while (n > 0) {
        ssize_t r = recv(s, p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static char **split(char **p, char *end, uint32_t n) {
    char **list = calloc((size_t)n + 1, sizeof(char *));
    if (!list) _exit(71);
    for (uint32_t i = 0; i < n; i++) {
        if (*p >= end) _exit(71);
        list[i] = *p;
        *p += strlen(*p) + 1;
    }
    return list;
}

static void exec_request(int s, const char *script) {
    uint32_t head[3];
    if (recv_all(s, (char *)head, sizeof head) < 0) _exit(70);
    char *data = malloc((size_t)head[0] + 1);
    if (!data || recv_all(s, data, head[0]) < 0) _exit(70);
    data[head[0]] = 0;
    char *p = data, *end = data + head[0];
    char *path = p;
    p += strlen(p) + 1;
    char **args = split(&p, end, head[1]);
    char **envp = split(&p, end, head[2]);
    execve(path, args, envp);
    fprintf(stderr, "%s: cannot run %s: %s\n", script, path, strerror(errno));
    _exit(1);
}

static int send_all(int s, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(s, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: launcher SCRIPT [ARG ...] (the shebang of a simulated Mac's fake tool)\n");
        return 2;
    }
    for (int fd = 0; fd < 3; fd++) /* a closed standard stream is handed over as /dev/null */
        if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd) return 71;

    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, SOCKET_PATH, sizeof addr.sun_path - 1);
    if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) fallback(argc, argv);

    struct buf b = {0};
    char num[32], cwd[PATH_MAX];
    snprintf(num, sizeof num, "%ld", (long)getppid());
    put(&b, num);
    put(&b, getcwd(cwd, sizeof cwd) ? cwd : "/");
    for (int i = 1; i < argc; i++) put(&b, argv[i]);
    uint32_t envc = 0;
    for (char **e = environ; *e; e++, envc++) put(&b, *e);

    uint32_t head[3] = {(uint32_t)b.len, (uint32_t)(argc - 1), envc};
    int fds[3] = {0, 1, 2};
    char control[CMSG_SPACE(sizeof fds)];
    memset(control, 0, sizeof control);
    struct iovec iov = {head, sizeof head};
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(c), fds, sizeof fds);
    ssize_t sent;
    do sent = sendmsg(s, &msg, MSG_NOSIGNAL); while (sent < 0 && errno == EINTR);
    if (sent != (ssize_t)sizeof head) fallback(argc, argv); /* nothing ran yet */
    if (send_all(s, b.data, b.len) < 0) {
        fprintf(stderr, "%s: the lab's fake-tool server went away\n", argv[1]);
        return 70;
    }

    int32_t status;
    if (recv_all(s, (char *)&status, sizeof status) < 0) {
        fprintf(stderr, "%s: the lab's fake-tool server went away\n", argv[1]);
        return 70;
    }
    if (status == INT32_MIN) exec_request(s, argv[1]);
    if (status >= 0) return status;
    signal(-status, SIG_DFL);
    raise(-status);
    return 128 - status;
}
