/*
 * udmabuf-shim.c — TEST-ONLY LD_PRELOAD shim that fakes /dev/udmabuf.
 *
 * Why it exists
 * -------------
 * libcamera's virtual camera (pipeline "virtual", configured by
 * /usr/share/libcamera/pipeline/virtual/virtual.yaml) allocates its frame
 * buffers through libcamera's DmaBufAllocator with the UDmaBuf provider:
 *
 *     fd  = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
 *     mem = memfd_create(name, MFD_ALLOW_SEALING);  ftruncate(); F_SEAL_SHRINK
 *     buf = ioctl(fd, UDMABUF_CREATE, &(struct udmabuf_create){ .memfd = mem, ... });
 *     close(mem);   // the kernel keeps its own reference
 *
 * and later maps `buf` (mmap) and brackets CPU access with
 * ioctl(buf, DMA_BUF_IOCTL_SYNC, ...).
 *
 * A container or chroot (CI, the trixie root of scripts/libcamera-check.sh)
 * has no /dev/udmabuf, so the camera cannot allocate a single buffer. For a
 * CPU-only test camera a memfd is as good as a dma-buf: it can be mmap()ed
 * and passed around by fd. This shim makes libcamera believe udmabuf exists:
 *
 *   - open/open64/openat/openat64/__open_2/__open64_2/__openat_2/__openat64_2
 *     of "/dev/udmabuf" return a placeholder fd (a memfd named
 *     "fake-udmabuf", recognised later through /proc/self/fd);
 *   - opening "/dev/dma_heap/..." fails with ENOENT, so libcamera always
 *     takes the udmabuf path under the shim (deterministic tests, even on a
 *     host that happens to have dma heaps);
 *   - ioctl(placeholder, UDMABUF_CREATE, create) returns
 *     dup(create->memfd) (close-on-exec if UDMABUF_FLAGS_CLOEXEC): the
 *     "dma-buf" is the memfd itself;
 *   - ioctl(placeholder, UDMABUF_CREATE_LIST, list) does the same for a list
 *     of exactly one item at offset 0 (one memfd cannot fake more);
 *   - ioctl(memfd, DMA_BUF_IOCTL_SYNC, ...) succeeds (memfds need no cache
 *     maintenance; the kernel would answer ENOTTY and libcamera log errors).
 *
 * Fault injection (for the supervisor tests): when UDMABUF_SHIM_HANG_FILE
 * names a file that exists, a writable mmap() of a sealed memfd (how
 * libcamera's virtual camera maps a buffer to draw each frame) blocks until
 * the file is removed, at most UDMABUF_SHIM_HANG_MAX_S seconds (default 60).
 * The camera then behaves like one whose driver hangs: requests stop
 * completing, and stopping the camera waits for the hang to end. Read-only
 * mappings (streamserver's own, made once per run) are never delayed.
 *
 * With UDMABUF_SHIM_HANG_MODE=permanent the hang is a wedged driver's: the
 * first process to meet the trigger file takes it (removes it, so the next
 * process is not affected) and blocks for good, until it is killed —
 * nothing the hanging process itself can do ends it.
 *
 * Everything else goes to the real libc functions. This is NOT a udmabuf
 * implementation (no offsets, no real dma-buf semantics, nothing a device
 * could DMA into); never preload it outside tests.
 *
 * Build:  gcc -shared -fPIC -O2 -Wall -o udmabuf-shim.so udmabuf-shim.c -ldl
 * Use:    LD_PRELOAD=/path/udmabuf-shim.so cam -c 1 --capture=3
 * Set UDMABUF_SHIM_DEBUG=1 to log what it intercepts to stderr.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/udmabuf.h>

#define FAKE_NAME "fake-udmabuf"

static int debug_enabled(void)
{
	static int cached = -1;
	if (cached < 0) {
		const char *v = getenv("UDMABUF_SHIM_DEBUG");
		cached = v && *v && strcmp(v, "0") != 0;
	}
	return cached;
}

#define DBG(...)                                                \
	do {                                                    \
		if (debug_enabled())                            \
			fprintf(stderr, "udmabuf-shim: " __VA_ARGS__); \
	} while (0)

static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (!f) {
		fprintf(stderr, "udmabuf-shim: dlsym(%s) failed\n", name);
		abort();
	}
	return f;
}

/*
 * Decide what to do with a path. Returns 1 (fake udmabuf), -1 (fail with
 * ENOENT: a dma heap) or 0 (pass through). Relative paths always pass
 * through; libcamera uses absolute ones.
 */
static int classify(const char *path)
{
	if (!path)
		return 0;
	if (strcmp(path, "/dev/udmabuf") == 0)
		return 1;
	if (strncmp(path, "/dev/dma_heap/", 14) == 0)
		return -1;
	return 0;
}

static int fake_open(const char *path, int flags)
{
	int fd = memfd_create(FAKE_NAME, (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	DBG("open(%s) -> placeholder fd %d\n", path, fd);
	return fd;
}

/* Returns 1 or -1 when the call was handled (result in *fd), 0 otherwise. */
static int handle_open(const char *path, int flags, int *fd)
{
	switch (classify(path)) {
	case 1:
		*fd = fake_open(path, flags);
		return 1;
	case -1:
		DBG("open(%s) -> ENOENT\n", path);
		errno = ENOENT;
		*fd = -1;
		return 1;
	default:
		return 0;
	}
}

/* Is fd our /dev/udmabuf placeholder? (Checked via its /proc/self/fd link.) */
static int is_placeholder(int fd)
{
	char link[64], target[128];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return strncmp(target, "/memfd:" FAKE_NAME, strlen("/memfd:" FAKE_NAME)) == 0;
}

/* Is fd a memfd (the only kind of fd that supports seals)? */
static int is_memfd(int fd)
{
	return fcntl(fd, F_GET_SEALS) >= 0;
}

static mode_t mode_arg(int flags, va_list ap)
{
	if (flags & (O_CREAT | O_TMPFILE))
		return (mode_t)va_arg(ap, int);
	return 0;
}

#define OPEN_WRAPPER(name)                                                   \
	int name(const char *path, int flags, ...)                           \
	{                                                                    \
		static int (*next)(const char *, int, ...);                  \
		va_list ap;                                                  \
		mode_t mode;                                                 \
		int fd;                                                      \
		if (handle_open(path, flags, &fd))                           \
			return fd;                                           \
		va_start(ap, flags);                                         \
		mode = mode_arg(flags, ap);                                  \
		va_end(ap);                                                  \
		if (!next)                                                   \
			next = real(#name);                                  \
		return next(path, flags, mode);                              \
	}

#define OPENAT_WRAPPER(name)                                                 \
	int name(int dirfd, const char *path, int flags, ...)                \
	{                                                                    \
		static int (*next)(int, const char *, int, ...);             \
		va_list ap;                                                  \
		mode_t mode;                                                 \
		int fd;                                                      \
		if (handle_open(path, flags, &fd))                           \
			return fd;                                           \
		va_start(ap, flags);                                         \
		mode = mode_arg(flags, ap);                                  \
		va_end(ap);                                                  \
		if (!next)                                                   \
			next = real(#name);                                  \
		return next(dirfd, path, flags, mode);                       \
	}

OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)
OPENAT_WRAPPER(openat)
OPENAT_WRAPPER(openat64)

/* _FORTIFY_SOURCE variants (two/three arguments, no mode). */
#define OPEN2_WRAPPER(name)                                                  \
	int name(const char *path, int flags)                                \
	{                                                                    \
		static int (*next)(const char *, int);                       \
		int fd;                                                      \
		if (handle_open(path, flags, &fd))                           \
			return fd;                                           \
		if (!next)                                                   \
			next = real(#name);                                  \
		return next(path, flags);                                    \
	}

#define OPENAT2_WRAPPER(name)                                                \
	int name(int dirfd, const char *path, int flags)                     \
	{                                                                    \
		static int (*next)(int, const char *, int);                  \
		int fd;                                                      \
		if (handle_open(path, flags, &fd))                           \
			return fd;                                           \
		if (!next)                                                   \
			next = real(#name);                                  \
		return next(dirfd, path, flags);                             \
	}

OPEN2_WRAPPER(__open_2)
OPEN2_WRAPPER(__open64_2)
OPENAT2_WRAPPER(__openat_2)
OPENAT2_WRAPPER(__openat64_2)

static int dup_memfd(int memfd, unsigned int flags)
{
	int cmd = (flags & UDMABUF_FLAGS_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD;

	if (!is_memfd(memfd)) {
		errno = EINVAL; /* the kernel also insists on a memfd */
		return -1;
	}
	return fcntl(memfd, cmd, 0);
}

/* Holds a writable mapping of a sealed memfd while the hang file exists. */
static void maybe_hang(int prot, int fd)
{
	static const char *path;
	static int max_s = -1;
	static int permanent;
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	long waited_ms = 0;
	int seals;

	if (max_s < 0) {
		const char *m = getenv("UDMABUF_SHIM_HANG_MAX_S");
		const char *mode = getenv("UDMABUF_SHIM_HANG_MODE");
		path = getenv("UDMABUF_SHIM_HANG_FILE");
		max_s = m && *m ? atoi(m) : 60;
		permanent = mode && strcmp(mode, "permanent") == 0;
	}
	if (!path || !*path || !(prot & PROT_WRITE) || fd < 0)
		return;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return;
	if (access(path, F_OK) != 0)
		return;
	if (permanent) {
		if (unlink(path) != 0)
			return; /* another thread or process took it first */
		DBG("mmap(fd %d): took %s, hanging until killed\n", fd, path);
		for (;;)
			pause();
	}
	DBG("mmap(fd %d): hanging while %s exists\n", fd, path);
	while (access(path, F_OK) == 0 && waited_ms < max_s * 1000L) {
		nanosleep(&tick, NULL);
		waited_ms += 10;
	}
	DBG("mmap(fd %d): hang over after %ld ms\n", fd, waited_ms);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	static void *(*next)(void *, size_t, int, int, int, off_t);

	if (!next)
		next = real("mmap");
	maybe_hang(prot, fd);
	return next(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	static void *(*next)(void *, size_t, int, int, int, off64_t);

	if (!next)
		next = real("mmap64");
	maybe_hang(prot, fd);
	return next(addr, len, prot, flags, fd, off);
}

int ioctl(int fd, unsigned long request, ...)
{
	static int (*next)(int, unsigned long, ...);
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!next)
		next = real("ioctl");

	if (request == UDMABUF_CREATE && is_placeholder(fd)) {
		const struct udmabuf_create *c = arg;
		if (c->offset != 0) {
			errno = EINVAL;
			return -1;
		}
		ret = dup_memfd(c->memfd, c->flags);
		DBG("UDMABUF_CREATE(memfd %u, size %llu) -> %d\n", c->memfd,
		    (unsigned long long)c->size, ret);
		return ret;
	}
	if (request == UDMABUF_CREATE_LIST && is_placeholder(fd)) {
		const struct udmabuf_create_list *l = arg;
		if (l->count != 1 || l->list[0].offset != 0) {
			errno = EINVAL;
			return -1;
		}
		ret = dup_memfd(l->list[0].memfd, l->flags);
		DBG("UDMABUF_CREATE_LIST(memfd %u) -> %d\n", l->list[0].memfd, ret);
		return ret;
	}

	ret = next(fd, request, arg);
	if (ret < 0 && request == DMA_BUF_IOCTL_SYNC &&
	    (errno == ENOTTY || errno == EINVAL) && is_memfd(fd)) {
		errno = 0;
		return 0; /* a memfd "dma-buf" needs no cache maintenance */
	}
	return ret;
}
