// The request hash an idempotency key is bound to: equal requests hash equal, any difference does not.
import { describe, expect, it } from 'vitest'
import { requestHash } from './request-key.js'

describe('requestHash [I7]', () => {
  const body = { examId: '1', student_name: 'Alice', student_email: 'a@example.com', booking_id: 'key-00000001' }

  it('ignores member order and undefined members', () => {
    const reordered = { booking_id: 'key-00000001', student_email: 'a@example.com', examId: '1', student_name: 'Alice' }
    expect(requestHash('admin', reordered)).toBe(requestHash('admin', body))
    expect(requestHash('admin', { ...body, dominant_hand: undefined })).toBe(requestHash('admin', body))
  })

  it('differs for another body or another subject', () => {
    expect(requestHash('admin', { ...body, student_name: 'Bob' })).not.toBe(requestHash('admin', body))
    expect(requestHash('mallory', body)).not.toBe(requestHash('admin', body))
    // No ambiguity between a subject and a body member of the same text.
    expect(requestHash('', { ...body, subject: 'admin' })).not.toBe(requestHash('admin', body))
  })
})
