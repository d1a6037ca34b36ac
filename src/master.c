/*
 * The master, in the nginx model: workers are processes, each with its own
 * event loop and Lua state, sharing the listening socket. Processes rather
 * than threads because the only way to stop a JIT-compiled Lua loop is to end
 * the process running it (LuaJIT runs no hook inside compiled traces), and
 * one worker's crash must not take the server down.
 *
 * The master keeps its signals blocked and takes them with sigtimedwait, so
 * its whole life is one loop: reap and replace dead workers, kill a worker
 * whose handler has been running past --timeout + 1 s (it reports the route
 * it is in through a shared page), and on SIGTERM/SIGINT pass the signal on
 * and wait for the workers to drain.
 *
 * Under `moontide dev` it also watches the app's files (inotify on their
 * directories). A change is loaded here first: problems are printed and the
 * running code is kept; an app that loads is what workers started from now
 * on get, and the running workers are told to reload (SIGHUP).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "log.h"
#include "lifecycle.h"
#include "master.h"

#define WATCH_INTERVAL_MS 50
#define RESPAWN_BACKOFF_MS 1000
#define SETTLE_MS 30 /* editors save in several steps: reload once they are done */

typedef struct st_mt_worker_slot_t {
    pid_t pid;       /* 0 when no worker runs in this slot */
    uint64_t started_ms;
    uint64_t respawn_at_ms; /* when a worker that died young may be replaced */
    int killed_by_watchdog;
    uint64_t interrupted_since; /* the busy.since_ms of the handler it was asked to stop (SIGUSR1) */
} mt_worker_slot_t;

static pid_t spawn_worker(const mt_worker_config_t *config, mt_busy_t *busy, const sigset_t *blocked)
{
    busy->since_ms = 0;
    pid_t master = getpid(), pid = fork();
    if (pid != 0)
        return pid;
    /* the worker: it must not outlive a master that was killed without a chance to stop it */
    mt_log_set_role("worker");
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != master)
        _exit(0);
    sigprocmask(SIG_UNBLOCK, blocked, NULL);
    mt_worker_config_t mine = *config;
    mine.busy = busy;
    _exit(mt_worker_run(&mine));
}

/* Watches the directories of the app's files (a save often replaces the file, which a watch on it would lose). */
static void watch_app_files(int fd, const mt_app_t *app)
{
    for (size_t i = 0; i != app->num_files; i++) {
        char dir[4096];
        const char *slash = strrchr(app->files[i], '/');
        snprintf(dir, sizeof(dir), "%.*s", slash != NULL ? (int)(slash - app->files[i]) : 1,
                 slash != NULL ? app->files[i] : ".");
        if (dir[0] == '\0')
            strcpy(dir, "/");
        if (inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE) < 0)
            mt_log_warn("cannot watch %s for changes: %s", dir, strerror(errno));
    }
}

/* Drains the watch; returns 1 when a .lua file changed. */
static int lua_file_changed(int fd)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    int changed = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (char *p = buf; p < buf + n; p += sizeof(struct inotify_event) + ((struct inotify_event *)p)->len) {
            const struct inotify_event *event = (const struct inotify_event *)p;
            size_t len = event->len != 0 ? strlen(event->name) : 0;
            changed |= len > 4 && strcmp(event->name + len - 4, ".lua") == 0;
        }
    }
    return changed;
}

/* Loads the app again; returns the new generation, or NULL (problems printed, the running code stays). */
static mt_app_t *load_changed_app(const char *app_path)
{
    mt_problems_t problems;
    mt_app_t *app = mt_app_load(app_path, &problems);
    if (app == NULL) {
        for (size_t i = 0; i != problems.count; i++)
            fprintf(stderr, "%s\n", problems.lines[i]);
        mt_log_error("%s: %zu problem(s); the previous code keeps serving", app_path, problems.count);
        mt_problems_free(&problems);
    }
    return app;
}

static void describe_exit(int status, char *buf, size_t size)
{
    if (WIFSIGNALED(status))
        snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
}

/*
 * A handler that has held the CPU past the deadline: its worker is asked to
 * stop it (SIGUSR1: a hook, which interpreted code obeys), and killed a
 * second later if it still runs (a JIT-compiled loop never calls hooks).
 */
static void watch_handlers(const mt_worker_config_t *config, mt_worker_slot_t *slots, mt_busy_t *busy, int n)
{
    uint64_t now = mt_now_ms(), deadline = (uint64_t)(config->opts->timeout * 1000), limit = deadline + 1000;
    for (int i = 0; i < n; i++) {
        uint64_t since = busy[i].since_ms;
        if (slots[i].pid == 0 || slots[i].killed_by_watchdog || since == 0 || now < since || now - since <= deadline)
            continue;
        if (slots[i].interrupted_since != since) {
            slots[i].interrupted_since = since;
            kill(slots[i].pid, SIGUSR1);
        }
        if (now - since <= limit)
            continue;
        int32_t index = busy[i].route;
        mt_route_t *route = index >= 0 && (size_t)index < config->app->num_routes ? config->app->routes[index] : NULL;
        mt_log_error("worker %d has run the handler for %s %s (%s) for %.1f s, past --timeout %.1f s: replacing the worker",
                     (int)slots[i].pid, route ? mt_method_name(route->method) : "?", route ? route->pattern : "?",
                     route ? route->where : "?", (double)(now - since) / 1000, config->opts->timeout);
        kill(slots[i].pid, SIGKILL);
        slots[i].killed_by_watchdog = 1;
    }
}

/* Stops listening and tells every worker to stop; returns when the workers' time is up. */
static uint64_t begin_shutdown(mt_worker_config_t *config, mt_worker_slot_t *slots, int n, uint64_t now)
{
    if (config->listen_fd >= 0) {
        close(config->listen_fd);
        config->listen_fd = -1;
    }
    for (int i = 0; i < n; i++)
        if (slots[i].pid != 0)
            kill(slots[i].pid, SIGTERM);
    return now + (uint64_t)(config->opts->grace * 1000) + 1000;
}

int mt_master_run(const mt_worker_config_t *original)
{
    mt_worker_config_t current = *original, *config = &current; /* its app changes with each reload */
    int n = config->opts->workers, shutting_down = 0, running = 0, exit_code = 0;
    int watch_fd = -1;
    uint64_t reload_at_ms = 0;
    if (config->opts->dev) {
        if ((watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
            mt_log_error("cannot watch the app's files: %s", strerror(errno));
        else
            watch_app_files(watch_fd, config->app);
    }
    signal(SIGHUP, SIG_IGN); /* workers set their own handler: none dies of a reload signal sent early */
    uint64_t shutdown_deadline = 0;
    mt_worker_slot_t *slots = calloc((size_t)n, sizeof(*slots));
    mt_busy_t *busy = mmap(NULL, sizeof(mt_busy_t) * (size_t)n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (slots == NULL || busy == MAP_FAILED) {
        mt_log_error("out of memory");
        return 1;
    }
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGCHLD);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigprocmask(SIG_BLOCK, &blocked, NULL);

    for (int i = 0; i < n; i++) {
        if ((slots[i].pid = spawn_worker(config, busy + i, &blocked)) < 0) {
            mt_log_error("cannot start a worker: %s", strerror(errno));
            slots[i].pid = 0;
            continue;
        }
        slots[i].started_ms = mt_now_ms();
        running++;
    }

    for (;;) {
        struct timespec wait = {0, WATCH_INTERVAL_MS * 1000000L};
        siginfo_t info;
        int signo = sigtimedwait(&blocked, &info, &wait);
        uint64_t now = mt_now_ms();

        if ((signo == SIGTERM || signo == SIGINT) && !shutting_down) {
            mt_log_info("received %s; stopping %d worker(s) (grace %.1f s)", signo == SIGTERM ? "SIGTERM" : "SIGINT",
                        running, config->opts->grace);
            shutting_down = 1;
            shutdown_deadline = begin_shutdown(config, slots, n, now);
        } else if (signo == SIGTERM || signo == SIGINT) {
            mt_log_info("second signal: stopping now");
            shutdown_deadline = now;
        }

        /* reap every worker that ended, whatever signal woke us */
        pid_t pid;
        int status;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (int i = 0; i < n; i++) {
                if (slots[i].pid != pid)
                    continue;
                running--;
                slots[i].pid = 0;
                if (!shutting_down && WIFEXITED(status) && WEXITSTATUS(status) == MT_EXIT_STARTUP_FAILED) {
                    /* the app cannot start: another worker would fail the same way */
                    mt_log_error("worker %d could not start the app (on_startup failed); stopping", (int)pid);
                    shutting_down = 1;
                    exit_code = 1;
                    shutdown_deadline = begin_shutdown(config, slots, n, now);
                } else if (!shutting_down) {
                    char how[128];
                    describe_exit(status, how, sizeof(how));
                    mt_log_error("worker %d %s; starting a new one", (int)pid, how);
                    int died_young = !slots[i].killed_by_watchdog && now - slots[i].started_ms < RESPAWN_BACKOFF_MS;
                    slots[i].respawn_at_ms = died_young ? now + RESPAWN_BACKOFF_MS : now;
                }
                slots[i].killed_by_watchdog = 0;
            }
        }

        if (watch_fd >= 0 && !shutting_down) {
            if (lua_file_changed(watch_fd) && reload_at_ms == 0)
                reload_at_ms = now + SETTLE_MS;
            if (reload_at_ms != 0 && now >= reload_at_ms) {
                reload_at_ms = 0;
                mt_app_t *app = load_changed_app(config->opts->app_path);
                if (app != NULL) {
                    if (config->app != original->app)
                        mt_app_free(config->app);
                    config->app = app;
                    watch_app_files(watch_fd, app); /* modules it requires now */
                    for (int i = 0; i < n; i++)
                        if (slots[i].pid != 0)
                            kill(slots[i].pid, SIGHUP);
                    mt_log_info("reloaded %s", app->path);
                }
            }
        }

        if (shutting_down) {
            if (running == 0)
                break;
            if (now >= shutdown_deadline) {
                for (int i = 0; i < n; i++)
                    if (slots[i].pid != 0)
                        kill(slots[i].pid, SIGKILL);
            }
            continue;
        }

        for (int i = 0; i < n; i++) {
            if (slots[i].pid != 0 || now < slots[i].respawn_at_ms)
                continue;
            if ((slots[i].pid = spawn_worker(config, busy + i, &blocked)) < 0) {
                mt_log_error("cannot start a worker: %s", strerror(errno));
                slots[i].pid = 0;
                slots[i].respawn_at_ms = now + RESPAWN_BACKOFF_MS;
                continue;
            }
            slots[i].started_ms = now;
            running++;
        }
        watch_handlers(config, slots, busy, n);
    }
    mt_log_info("stopped");
    if (config->app != original->app)
        mt_app_free(config->app);
    if (watch_fd >= 0)
        close(watch_fd);
    munmap(busy, sizeof(mt_busy_t) * (size_t)n);
    free(slots);
    return exit_code;
}
