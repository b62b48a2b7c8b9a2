// CSV downloads of the exam list and of an exam's bookings, streamed from the replica in batches.
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { exportExamBookings, exportExams, type TableExport } from '../bookings/exports.js'
import { invalidField } from '../errors.js'
import { idParams } from '../model/contract/common.js'
import { examListQuery } from '../model/contract/exams.js'
import { csvResponses } from '../model/contract/exports.js'
import type { Queryable } from '../replica/index.js'
import { CSV_CONTENT_TYPE, csvChunks, type CsvValue } from './csv-encoder.js'

function sendCsv(reply: FastifyReply, table: TableExport): FastifyReply {
  // Bytes, not objects: the stream then asks for the next batch only when the socket has taken
  // this one (its buffer is 16 KiB, less than one batch), so memory stays flat however long the file.
  const body = Readable.from(csvChunks(table.columns, table.batches as AsyncIterable<Record<string, CsvValue>[]>), {
    objectMode: false,
  })
  return (
    reply
      .header('content-disposition', `attachment; filename="${table.filename}"`)
      // Student names and emails: no shared cache may keep them.
      .header('cache-control', 'private, no-store')
      .type(CSV_CONTENT_TYPE)
      .send(body)
  )
}

export function registerExportRoutes(root: FastifyInstance, db: Queryable): void {
  const app = root.withTypeProvider<ZodTypeProvider>()
  const view = { permission: 'exams.view' as const }

  app.get(
    '/api/mock-exams.csv',
    {
      config: view,
      schema: {
        tags: ['exports'],
        summary: "The exam list as CSV (text/csv, RFC 4180, UTF-8 with BOM), with the JSON list's filters",
        querystring: examListQuery,
        produces: ['text/csv'],
        response: csvResponses,
      },
    },
    async (request, reply) => {
      const { is_active, startDate, endDate } = request.query
      if (startDate && endDate && startDate > endDate) throw invalidField('endDate', 'must not be before startDate')
      return sendCsv(reply, await exportExams(db, { isActive: is_active, startDate, endDate }))
    },
  )

  app.get(
    '/api/mock-exams/:id/bookings.csv',
    {
      config: view,
      schema: {
        tags: ['exports'],
        summary: "An exam's bookings as CSV (text/csv, RFC 4180, UTF-8 with BOM), by student name",
        params: idParams,
        produces: ['text/csv'],
        response: csvResponses,
      },
    },
    async (request, reply) => sendCsv(reply, await exportExamBookings(db, request.params.id)),
  )
}
