// The practical limit of the read path: a bare Fastify route answering hubmirror's exact bytes from memory.
import Fastify from 'fastify'
import { readFileSync } from 'node:fs'

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const bodyFile = flag('--body')
if (!bodyFile) throw new Error('usage: bare-server.ts --body FILE [--port N]')
const body = readFileSync(bodyFile)
// No logger, no hooks, no auth: everything hubmirror does beyond this is its overhead.
const app = Fastify({ logger: false })
app.get('/api/mock-exams/:id/bookings', (_request, reply) => {
  reply.type('application/json; charset=utf-8').send(body)
})
const address = await app.listen({ port: Number(flag('--port') ?? 0), host: '127.0.0.1' })
console.log(`bare server: ${address}`)

const stop = () => void app.close().then(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
