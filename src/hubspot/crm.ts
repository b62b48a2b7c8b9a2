// CRM object operations over the client, in the configured path family: list, get, create, update, archive, batches and search.
import { AppError } from '../errors.js'
import type { BatchResult, HubSpotClient, HubSpotObject, PageOf } from './client.js'
import { BATCH_HISTORY_MAX, BATCH_MAX, LIST_PAGE_MAX } from './limits.js'
import type { HubSpotPaths } from './paths.js'

export interface SearchFilter {
  propertyName: string
  operator:
    | 'EQ'
    | 'NEQ'
    | 'LT'
    | 'LTE'
    | 'GT'
    | 'GTE'
    | 'BETWEEN'
    | 'IN'
    | 'NOT_IN'
    | 'HAS_PROPERTY'
    | 'NOT_HAS_PROPERTY'
    | 'CONTAINS_TOKEN'
    | 'NOT_CONTAINS_TOKEN'
  value?: string
  highValue?: string
  values?: string[]
}

export interface SearchRequest {
  filterGroups?: Array<{ filters: SearchFilter[] }>
  sorts?: Array<{ propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }>
  properties?: string[]
  limit?: number
  after?: string
  query?: string
}

export interface UpsertResult extends HubSpotObject {
  new?: boolean
}

const q = (params: Record<string, string | number | boolean | undefined>) => {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value))
  const text = search.toString()
  return text ? `?${text}` : ''
}

/** A 207 means some inputs failed: surface them rather than pretend the whole batch worked. */
function batchResults<T>(body: BatchResult<T>): BatchResult<T> {
  return {
    ...body,
    results: body.results ?? [],
    errors: body.errors ?? [],
    numErrors: body.numErrors ?? 0,
    status: body.status ?? 'COMPLETE',
  }
}

function assertBatchSize(count: number): void {
  if (count > BATCH_MAX)
    throw new AppError('E_VALIDATION', `a HubSpot batch takes at most ${BATCH_MAX} inputs`, { field: 'inputs' })
}

export class CrmObjects {
  constructor(
    readonly client: HubSpotClient,
    readonly paths: HubSpotPaths,
  ) {}

  async listPage(
    type: string,
    options: { limit?: number; after?: string; properties: string[]; archived?: boolean },
  ): Promise<PageOf<HubSpotObject>> {
    const query = q({
      limit: options.limit ?? LIST_PAGE_MAX,
      after: options.after,
      properties: options.properties.join(','),
      archived: options.archived,
    })
    return (
      await this.client.request<PageOf<HubSpotObject>>('GET', `${this.paths.objects(type)}${query}`, undefined, {
        idempotent: true,
      })
    ).body
  }

  /** null when absent or archived. */
  async get(type: string, id: string, properties: string[]): Promise<HubSpotObject | null> {
    const path = `${this.paths.object(type, id)}${q({ properties: properties.join(',') })}`
    const { status, body } = await this.client.request<HubSpotObject>('GET', path, undefined, {
      idempotent: true,
      accept: [404],
    })
    return status === 404 ? null : body
  }

  async create(type: string, properties: Record<string, string>): Promise<HubSpotObject> {
    return (
      await this.client.request<HubSpotObject>(
        'POST',
        this.paths.objects(type),
        { properties },
        { idempotent: false, write: true },
      )
    ).body
  }

  /** PATCH sets absolute values, so repeating it is harmless. */
  async update(type: string, id: string, properties: Record<string, string>): Promise<HubSpotObject | null> {
    const { status, body } = await this.client.request<HubSpotObject>(
      'PATCH',
      this.paths.object(type, id),
      { properties },
      { idempotent: true, accept: [404], write: true },
    )
    return status === 404 ? null : body
  }

  /** true when archived now, false when it was absent already. */
  async archive(type: string, id: string): Promise<boolean> {
    const { status } = await this.client.request('DELETE', this.paths.object(type, id), undefined, {
      idempotent: true,
      accept: [404],
      write: true,
    })
    return status !== 404
  }

  async batchRead(
    type: string,
    ids: string[],
    properties: string[],
    options: { idProperty?: string; archived?: boolean; propertiesWithHistory?: string[] } = {},
  ): Promise<BatchResult<HubSpotObject>> {
    const history = options.propertiesWithHistory ?? []
    if (history.length > 0 && ids.length > BATCH_HISTORY_MAX)
      throw new AppError(
        'E_VALIDATION',
        `a HubSpot batch read with histories takes at most ${BATCH_HISTORY_MAX} inputs`,
        {
          field: 'inputs',
        },
      )
    assertBatchSize(ids.length)
    const body = {
      inputs: ids.map((id) => ({ id })),
      properties,
      propertiesWithHistory: history,
      ...(options.idProperty ? { idProperty: options.idProperty } : {}),
    }
    const path = `${this.paths.batch(type, 'read')}${q({ archived: options.archived })}`
    return batchResults(
      (await this.client.request<BatchResult<HubSpotObject>>('POST', path, body, { idempotent: true, accept: [207] }))
        .body,
    )
  }

  /** Upsert on a unique property: the way to create idempotently. */
  async batchUpsert(
    type: string,
    idProperty: string,
    inputs: Array<{ id: string; properties: Record<string, string> }>,
  ): Promise<BatchResult<UpsertResult>> {
    assertBatchSize(inputs.length)
    const body = { inputs: inputs.map((input) => ({ ...input, idProperty })) }
    return batchResults(
      (
        await this.client.request<BatchResult<UpsertResult>>('POST', this.paths.batch(type, 'upsert'), body, {
          idempotent: true,
          accept: [207],
          write: true,
        })
      ).body,
    )
  }

  async batchUpdate(
    type: string,
    inputs: Array<{ id: string; properties: Record<string, string> }>,
  ): Promise<BatchResult<HubSpotObject>> {
    assertBatchSize(inputs.length)
    return batchResults(
      (
        await this.client.request<BatchResult<HubSpotObject>>(
          'POST',
          this.paths.batch(type, 'update'),
          { inputs },
          { idempotent: true, accept: [207], write: true },
        )
      ).body,
    )
  }

  async search(type: string, request: SearchRequest): Promise<PageOf<HubSpotObject>> {
    return (
      await this.client.request<PageOf<HubSpotObject>>('POST', this.paths.search(type), request, {
        kind: 'search',
        idempotent: true,
      })
    ).body
  }

  async schemas(): Promise<Array<{ name: string; objectTypeId: string; fullyQualifiedName?: string }>> {
    return (
      await this.client.request<{
        results: Array<{ name: string; objectTypeId: string; fullyQualifiedName?: string }>
      }>('GET', this.paths.schemas(), undefined, { idempotent: true })
    ).body.results
  }
}
