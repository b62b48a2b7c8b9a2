import { describe, expect, it } from 'vitest'
import { describeCall } from './client.js'

describe('describeCall', () => {
  it('names the call without object type ids or record ids, on both path families', () => {
    expect(describeCall('POST', '/crm/v3/objects/2-48111/batch/upsert')).toBe('batch upsert')
    expect(describeCall('POST', '/crm/objects/2026-03/2-48111/batch/read?archived=true')).toBe('batch read')
    expect(describeCall('POST', '/crm/v3/objects/2-48111/search')).toBe('search')
    expect(describeCall('PATCH', '/crm/v3/objects/2-48111/99120')).toBe('record update')
    expect(describeCall('GET', '/crm/objects/2026-03/2-48111/99120?properties=a')).toBe('record read')
    expect(describeCall('POST', '/crm/v3/objects/2-48111')).toBe('create')
    expect(describeCall('GET', '/crm/v3/objects/2-48111?limit=100')).toBe('list')
    expect(describeCall('GET', '/crm/v3/schemas')).toBe('object schema lookup')
    expect(describeCall('PUT', '/crm/v4/objects/2-1/5/associations/default/2-2/6')).toBe('association update')
    for (const path of ['/crm/v3/objects/2-48111/99120', '/crm/v3/objects/2-48111/batch/create'])
      expect(describeCall('POST', path)).not.toMatch(/\d/)
  })
})
