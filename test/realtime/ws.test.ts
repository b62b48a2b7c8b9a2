// WebSocket at /api/ws: the seed's subscribe / sync_request messages, replay, filter, refetch, bad input, auth.
import type { FastifyInstance } from 'fastify'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.js'
import { createClientLimits } from '../../src/http/client-limits.js'
import { createMetricsRegistry } from '../../src/http/metrics.js'
import { issueToken } from '../../src/http/jwt.js'
import { registerRealtimeRoutes } from '../../src/http/routes-realtime.js'
import { buildHttpServer } from '../../src/http/server.js'
import { headSeq, pruneEvents } from '../../src/replica/index.js'
import { makeExam } from '../support/fixtures.js'
import { connectWs, seqs, wsUrl, type WsConnection, listeningApp } from '../support/streams.js'

describe('WebSocket /api/ws', () => {
  const examA = makeExam()
  const examB = makeExam()
  const live = listeningApp([examA, examB])
  const book = (exam = examA, n = 1) => live.book(exam, n)
  const open = (token = live.t.token, base = live.url) => connectWs(wsUrl(base, `/api/ws?access_token=${token}`))

  it('greets with connected {seq: head, timestamp}, then streams the subscribed exams only', async () => {
    const ws = await open()
    await ws.waitForType('connected')
    expect(ws.messages[0]).toMatchObject({ type: 'connected', seq: await headSeq(live.t.app.db) })
    expect(typeof ws.messages[0].timestamp).toBe('number')
    ws.send({ type: 'subscribe', exam_ids: [examA.hubspot_id] })
    expect((await ws.waitForType('ready')).seq).toBe(await headSeq(live.t.app.db))
    const written = [...(await book(examB)), ...(await book(examA, 2))]
    await ws.waitFor(() => ws.changes().length === 2)
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(seqs(ws.changes())).toEqual(seqs(written.slice(1)))
    expect(ws.messages.find((m) => m.type === 'change')).toMatchObject({
      type: 'change',
      event: { kind: 'booking', exam_id: examA.hubspot_id },
    })
    ws.close()
  })

  it('replays from after, then goes live, with nothing lost or doubled while writes race', async () => {
    const from = await headSeq(live.t.app.db)
    const backlog = await book(examA, 30)
    const ws = await open()
    ws.send({ type: 'subscribe', exam_ids: [examA.hubspot_id, examB.hubspot_id], after: from })
    const raced = (await Promise.all(Array.from({ length: 10 }, (_, i) => book(i % 2 ? examA : examB)))).flat()
    const expected = [...seqs(backlog), ...seqs(raced)].sort((a, b) => Number(a) - Number(b))
    await ws.waitFor(() => ws.changes().length >= expected.length)
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(seqs(ws.changes())).toEqual(expected)
    // ready comes after the backlog.
    const readyAt = ws.messages.findIndex((m) => m.type === 'ready')
    expect(ws.messages.slice(1, 31).every((m) => m.type === 'change')).toBe(true)
    expect(readyAt).toBeGreaterThanOrEqual(31)
    ws.close()
  })

  it('replaces the subscription on a second subscribe (a numeric after is accepted too)', async () => {
    const ws = await open()
    ws.send({ type: 'subscribe', exam_ids: [examA.hubspot_id] })
    await ws.waitForType('ready')
    ws.send({ type: 'subscribe', exam_ids: [examB.hubspot_id], after: Number(await headSeq(live.t.app.db)) })
    await ws.waitForType('ready')
    const written = [...(await book(examA)), ...(await book(examB))]
    await ws.waitFor(() => ws.changes().length === 1)
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(seqs(ws.changes())).toEqual([written[1].seq])
    ws.send({ type: 'unsubscribe' })
    ws.send({ type: 'ping' })
    await ws.waitForType('pong')
    ws.close()
  })

  it('answers bad messages with E_VALIDATION and stays open', async () => {
    const ws = await open()
    for (const bad of [
      'not json',
      '{"type":"nope"}',
      '{"type":"subscribe","exam_ids":["x"]}',
      '{"type":"subscribe","after":"-1"}',
      '[]',
    ]) {
      ws.send(bad)
      const error = await ws.waitForType('error')
      expect(error.code, bad).toBe('E_VALIDATION')
      expect(typeof error.message).toBe('string')
    }
    ws.socket.send(Buffer.from([1, 2, 3]), { binary: true })
    expect((await ws.waitForType('error')).code).toBe('E_VALIDATION')
    ws.send({ type: 'subscribe' })
    await ws.waitForType('ready')
    ws.close()
  })

  it('answers sync_request with E_NOT_READY when no sync engine is wired', async () => {
    const ws = await open()
    ws.send({ type: 'sync_request', exam_ids: [examA.hubspot_id] })
    expect(await ws.waitForType('error')).toMatchObject({ code: 'E_NOT_READY' })
    ws.close()
  })

  it('calls the injected sync engine for sync_request, needing sync.run', async () => {
    const calls: string[][] = []
    const onSyncRequest = async (examIds: string[]) => {
      calls.push(examIds)
      if (examIds.includes('13')) throw new AppError('E_HUBSPOT_RATE_LIMITED', 'HubSpot budget exhausted')
      return { pulled: examIds.length }
    }
    let server: FastifyInstance | null = null
    try {
      server = await buildHttpServer({
        config: live.t.app.config,
        logger: live.t.app.logger,
        db: live.t.app.db,
        metrics: createMetricsRegistry(),
        reads: live.t.app.reads,
        webDist: null,
        routes: [
          (app) =>
            registerRealtimeRoutes(app, live.t.app.realtime, {
              reads: live.t.app.reads,
              onSyncRequest,
              ...createClientLimits(live.t.app.config.limits),
            }),
        ],
      })
      const base = await server.listen({ port: 0, host: '127.0.0.1' })
      const ws = await open(live.t.token, base)
      ws.send({ type: 'subscribe', exam_ids: [examA.hubspot_id] })
      await ws.waitForType('ready')
      ws.send({ type: 'sync_request' })
      expect(await ws.waitForType('sync_result')).toMatchObject({ exam_ids: [examA.hubspot_id], result: { pulled: 1 } })
      ws.send({ type: 'sync_request', exam_ids: ['13'] })
      expect(await ws.waitForType('error')).toMatchObject({
        code: 'E_HUBSPOT_RATE_LIMITED',
        message: 'HubSpot budget exhausted',
      })
      ws.close()

      const viewer = await open(issueToken(live.t.app.config.jwtSecret, ['exams.view']), base)
      viewer.send({ type: 'sync_request' })
      expect(await viewer.waitForType('error')).toMatchObject({ code: 'E_FORBIDDEN' })
      viewer.close()
      expect(calls).toEqual([[examA.hubspot_id], ['13']])
    } finally {
      await server?.close()
    }
  })

  it('checks the token on the upgrade: 401 without, 403 without exams.view, header or ?access_token=', async () => {
    await expect(connectWs(wsUrl(live.url, '/api/ws'))).rejects.toThrow(/401/)
    await expect(connectWs(wsUrl(live.url, '/api/ws?access_token=forged'))).rejects.toThrow(/401/)
    await expect(open(issueToken(live.t.app.config.jwtSecret, ['bookings.edit']))).rejects.toThrow(/403/)
    const viaHeader: WsConnection = await connectWs(wsUrl(live.url, '/api/ws'), {
      headers: { authorization: `Bearer ${live.t.token}` },
    })
    await viaHeader.waitForType('connected')
    viaHeader.close()
  })

  it('answers refetch {seq: head} to a cursor older than retention', async () => {
    await book(examA, 3)
    expect(await pruneEvents(live.t.app.db, 0, 1)).toBeGreaterThan(0)
    const ws = await open()
    ws.send({ type: 'subscribe', exam_ids: [examA.hubspot_id], after: '1' })
    expect(await ws.waitForType('refetch')).toEqual({ type: 'refetch', seq: await headSeq(live.t.app.db) })
    expect(ws.changes()).toEqual([])
    ws.close()
  })
})
