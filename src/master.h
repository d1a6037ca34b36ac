/*
 * The master process: forks the workers, replaces one that dies or holds the
 * CPU in a handler past the deadline, and stops them all on SIGTERM/SIGINT.
 */
#ifndef MT_MASTER_H
#define MT_MASTER_H

#include "worker.h"

/*
 * Runs until shutdown; returns the process exit code. The listening socket
 * (config->listen_fd) is closed when shutdown begins, so that once the
 * workers have closed theirs new connections are refused, not queued.
 */
int mt_master_run(const mt_worker_config_t *config);

#endif
