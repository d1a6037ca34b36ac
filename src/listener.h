/*
 * The listening side: the socket every worker accepts on, and the TLS
 * context when HTTPS is on. Both are made by the master before it forks, so
 * a port in use or a bad certificate stops the server before it starts.
 */
#ifndef MT_LISTENER_H
#define MT_LISTENER_H

#include <stddef.h>
#include <openssl/ssl.h>

/* Returns a non-blocking listening socket, or -1 with a one-line reason. */
int mt_listener_open(const char *host, int port, char *err, size_t errsize);

/* The port a socket is bound to (useful with --port 0). */
int mt_listener_port(int fd);

/* An HTTPS context offering h2 and http/1.1 by ALPN, or NULL with a reason. */
SSL_CTX *mt_listener_tls(const char *cert_file, const char *key_file, char *err, size_t errsize);

#endif
