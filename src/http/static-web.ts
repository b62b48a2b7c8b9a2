// Serves the built dashboard (web/dist) at / with a single-page-app fallback to index.html.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { AppError } from '../errors.js'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })
}

/** The request path, decoded; a malformed escape (`GET /x#%E0`, `%zz`) is the client's error, not ours. */
function decodePath(url: string): string {
  const raw = url.split('?')[0]
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new AppError('E_VALIDATION', 'the URL path has a malformed percent-escape', { field: 'path' })
  }
}

/** Returns false when the dashboard has not been built. */
export function registerStaticWeb(app: FastifyInstance, distDir: string): boolean {
  const indexFile = join(distDir, 'index.html')
  if (!existsSync(indexFile)) {
    app.get('/', async (_request, reply) =>
      reply.type('text/plain').send('The dashboard is not built. Run "npm run build:web" (npm ci does it for you).'),
    )
    return false
  }
  // The bundle is small and immutable while the process runs: hold it in memory.
  const files = new Map(
    walk(distDir).map((path) => ['/' + relative(distDir, path).split('\\').join('/'), readFileSync(path)]),
  )
  const index = files.get('/index.html') as Buffer
  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const path = decodePath(request.url)
    const file = files.get(path)
    if (file) {
      const immutable = path.startsWith('/assets/')
      return reply
        .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
        .type(TYPES[extname(path)] ?? 'application/octet-stream')
        .send(file)
    }
    if (path.startsWith('/api/') || extname(path))
      return reply.status(404).send({ success: false, error: { code: 'E_NOT_FOUND', message: 'not found' } })
    return reply.header('cache-control', 'no-cache').type(TYPES['.html']).send(index)
  })
  return true
}
