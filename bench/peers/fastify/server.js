// bench/peers/fastify/server.js: the Fastify peer of moontide's benchmarks.
//
// Fastify 5 as its users run it in production: logger off, one process,
// route schemas in JSON Schema (ajv validates requests, fast-json-stringify
// serializes responses). Validation failures answer 422 (Fastify's default is
// 400) so that every peer agrees with shared/BENCH.md. HTTP/1.1 only.
//
// Run: node server.js PORT
'use strict'
const fastify = require('fastify')({ logger: false })

const port = Number(process.argv[2] || 3000)

// Schema validation errors and malformed JSON bodies → 422 {"detail": ...}
fastify.setErrorHandler((err, request, reply) => {
  if (err.validation || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    reply.code(422).send({ detail: err.message })
    return
  }
  reply.send(err)
})

// W1 GET /hello
fastify.get('/hello', {
  schema: {
    response: { 200: { type: 'object', properties: { message: { type: 'string' } } } }
  }
}, async () => ({ message: 'Hello, World!' }))

// W2 GET /items/:id?q=
fastify.get('/items/:id', {
  schema: {
    params: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] },
    querystring: { type: 'object', properties: { q: { type: 'string', maxLength: 50 } } },
    response: {
      200: {
        type: 'object',
        properties: { id: { type: 'integer' }, q: { type: ['string', 'null'] } }
      }
    }
  }
}, async (request) => ({ id: request.params.id, q: request.query.q ?? null }))

// W3 POST /items
const dims = {
  type: 'object',
  properties: { w: { type: 'number' }, h: { type: 'number' } },
  required: ['w', 'h']
}
const item = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    price: { type: 'number', exclusiveMinimum: 0 },
    tags: { type: 'array', maxItems: 10, items: { type: 'string' } },
    status: { type: 'string', enum: ['draft', 'published'] },
    dims
  },
  required: ['name', 'price', 'status']
}
const itemOut = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    price: { type: 'number' },
    tags: { type: ['array', 'null'], items: { type: 'string' } },
    status: { type: 'string' },
    dims: { anyOf: [{ type: 'null' }, dims] }
  }
}
fastify.post('/items', { schema: { body: item, response: { 200: itemOut } } }, async (request) => {
  const b = request.body
  return { name: b.name, price: b.price, tags: b.tags ?? null, status: b.status, dims: b.dims ?? null }
})

// W4 GET /stream?n=100: n SSE events written one by one on the raw response
fastify.get('/stream', {
  schema: {
    querystring: {
      type: 'object',
      properties: { n: { type: 'integer', minimum: 0, maximum: 100000, default: 100 } }
    }
  }
}, (request, reply) => {
  reply.hijack()
  const res = reply.raw
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  const n = request.query.n
  for (let i = 1; i <= n; i++) res.write(`data: {"i":${i}}\n\n`)
  res.end()
})

fastify.listen({ port, host: '127.0.0.1' }, (err) => {
  if (err) {
    console.error(err)
    process.exit(1)
  }
})
