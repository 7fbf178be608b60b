/* daemon_ready.c - detach with a readiness pipe, and the service manager's notifications. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "build-config.h"
#include "log.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

/* The write end of the pipe to the waiting parent; -1 once ready (or never detached). */
static int daemon_ready_fd = -1;

static void daemon_sd_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
    int rc = sd_notify(0, state);

    if (rc < 0)
        log_warn("sd_notify(%s): %s", state, strerror(-rc));
#else
    (void)state;
#endif
}

/* The parent: wait until the child is ready (exit 0) or gone (its status, at least 1). */
static void daemon_parent_wait(const char *program, pid_t pid, int fd)
{
    char b;
    ssize_t n;
    int status = 0;

    do
        n = read(fd, &b, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1)
        _exit(0);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        _exit(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        fprintf(stderr, "%s: died of signal %d while starting\n", program, WTERMSIG(status));
    else
        fprintf(stderr, "%s: stopped while starting\n", program);
    _exit(1);
}

static void daemon_null_fd(int fd)
{
    int null = open("/dev/null", O_RDWR);

    if (null >= 0 && null != fd) {
        dup2(null, fd);
        close(null);
    }
}

void daemon_background(const char *program)
{
    int p[2];
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
        fprintf(stderr, "%s: cannot detach: %s\n", program, strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        close(p[1]);
        daemon_parent_wait(program, pid, p[0]);
    }
    close(p[0]);
    if (setsid() < 0 || chdir("/") < 0) {
        fprintf(stderr, "%s: cannot detach: %s\n", program, strerror(errno));
        exit(1);
    }
    daemon_null_fd(STDIN_FILENO);
    daemon_null_fd(STDOUT_FILENO);
    /* stderr stays the starter's until daemon_notify_ready(): a reason to stop is seen there. */
    daemon_ready_fd = p[1];
    log_startup(1);
}

void daemon_notify_ready(void)
{
    daemon_sd_notify("READY=1");
    if (daemon_ready_fd < 0)
        return;
    log_startup(0);
    fflush(stderr);
    daemon_null_fd(STDERR_FILENO);
    if (write(daemon_ready_fd, "R", 1) < 0)
        log_warn("cannot tell the starting process that we are ready: %s", strerror(errno));
    close(daemon_ready_fd);
    daemon_ready_fd = -1;
}

void daemon_notify_reloading(void)
{
    struct timespec ts;
    char state[64];

    /* systemd 253 and later want the monotonic time with RELOADING=1; older ones ignore it. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    daemon_sd_notify(state);
}

void daemon_notify_reloaded(void)
{
    daemon_sd_notify("READY=1");
}

void daemon_notify_stopping(void)
{
    daemon_sd_notify("STOPPING=1");
}
