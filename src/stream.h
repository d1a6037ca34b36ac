/*
 * Streamed responses (SPEC §7): moontide.stream(fn, opts) and
 * moontide.sse(fn, opts). A handler returns one; the response starts at once
 * and `fn` then runs in the handler's coroutine as the producer, each
 * send(chunk) or emit(event) going out as soon as the connection takes it.
 */
#ifndef MT_STREAM_H
#define MT_STREAM_H

#include <lua.h>
#include "request.h"

#define MT_STREAM_MT "moontide.Stream"

typedef struct st_mt_stream_t mt_stream_t;

/* Adds stream and sse to the moontide.core table on top of the stack; creates the metatable. */
void mt_stream_register(lua_State *L);

/*
 * The handler returned a stream (the table at `index` of co): starts the
 * response and leaves co ready to run the producer. Returns how many
 * arguments the producer takes (the stack of co is [fn, args...]), 0 when
 * the response is whole without it (HEAD: the headers GET gets, no body),
 * or -1 with err set and nothing sent.
 */
int mt_stream_start(mt_call_t *call, lua_State *co, int index, char *err, size_t errsize);

/* The producer let the worker go (it waits): what it sent leaves now. */
void mt_stream_flush(mt_call_t *call);

/* The producer returned (status 0) or failed: ends the response cleanly or, after an error, abruptly. */
void mt_stream_finished(mt_call_t *call, int status);

/* The request is going away: stops the stream's timer and frees its buffers. */
void mt_stream_dispose(mt_call_t *call);

#endif
