// Builds the Fastify server: auth, validation, errors, operations routes, OpenAPI, and each part's routes.
import { fileURLToPath } from 'node:url'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod'
import type { Registry } from 'prom-client'
import type { ReadService } from '../bookings/read-service.js'
import type { Config } from '../config/index.js'
import type { Logger } from '../logger.js'
import { describeTopology, pendingMigrations, type ReplicaDriver } from '../replica/index.js'
import { registerAuth } from './auth.js'
import { healthResponses, readyResponses } from '../model/contract/operations.js'
import { errorHandler, sendError } from './errors.js'
import { AppError } from '../errors.js'
import { registerHttpMetrics } from './metrics.js'
import { registerSecurityHeaders } from './security-headers.js'
import { registerExportRoutes } from './routes-exports.js'
import { registerReadRoutes } from './routes-reads.js'
import { registerSearchRoutes } from './routes-search.js'
import { registerStaticWeb } from './static-web.js'

const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url))

export interface HttpDeps {
  config: Config
  logger: Logger
  db: ReplicaDriver
  metrics: Registry
  reads: ReadService
  /** Route modules of the parts composed in (writes, sync, realtime, GraphQL). */
  routes?: Array<(app: FastifyInstance) => void | Promise<void>>
  webDist?: string | null
}

export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.config.bodyLimitBytes,
    // Per-request lines would dominate the log under load; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 200 },
  })
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new AppError('E_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`)),
  )

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'hubmirror',
        version: '0.1.0',
        description: 'HubSpot CRM read replica, write path, sync and realtime',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    // Named schemas (Exam, Booking, SyncStatus...) go to components.schemas, referenced by $ref.
    transformObject: jsonSchemaTransformObject,
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  registerSecurityHeaders(app)

  registerAuth(app, deps.config)
  registerHttpMetrics(app, deps.metrics, deps.config.metricsListen === null)
  registerOperations(app, deps.db)
  registerReadRoutes(app, deps.reads)
  registerExportRoutes(app, deps.db)
  registerSearchRoutes(app, deps.db)
  for (const register of deps.routes ?? []) await register(app)
  if (deps.webDist !== null) registerStaticWeb(app, deps.webDist ?? WEB_DIST)
  return app
}

function registerOperations(app: FastifyInstance, db: ReplicaDriver): void {
  app.get(
    '/healthz',
    { schema: { tags: ['operations'], summary: 'Liveness', response: healthResponses } },
    async () => ({ status: 'ok' as const }),
  )
  app.get(
    '/readyz',
    {
      schema: { tags: ['operations'], summary: 'Readiness: Postgres reachable and migrated', response: readyResponses },
    },
    async (_request, reply) => {
      try {
        const pending = await pendingMigrations(db)
        if (pending.length > 0)
          return reply.status(503).send({ status: 'not ready', reason: 'migrations pending', pending })
        return { status: 'ready' as const, database: db.kind, ...describeTopology(db) }
      } catch {
        return reply.status(503).send({ status: 'not ready', reason: 'database unreachable' })
      }
    },
  )
}
