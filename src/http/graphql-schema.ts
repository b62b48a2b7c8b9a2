// The GraphQL schema (SDL): Exam and Booking generated from the field catalogue, the change and subscription types written here.
import { BOOKING_FIELDS } from '../model/objects/booking.js'
import { EXAM_FIELDS } from '../model/objects/exam.js'
import { graphqlType } from '../model/objects/field.js'

export const SDL = /* GraphQL */ `
  ${graphqlType('Exam', "A mock exam, with the seed's field names.", EXAM_FIELDS)}
  ${graphqlType('Booking', "A booking, with the seed's field names.", BOOKING_FIELDS)}
  "Any JSON value (a change's row, or its field changes)."
  scalar JSON

  "Who made a change: kind hubmirror (subject: the token's sub) or hubspot (HubSpot's sourceType, sourceId, updatedByUserId)."
  type ChangeOrigin {
    kind: String!
    subject: String
    source: String
    source_id: String
    user_id: String
  }

  "One row of the change log."
  type ChangeEvent {
    seq: String!
    kind: String!
    op: String!
    hubspot_id: ID!
    exam_id: ID
    source: String!
    at: String!
    "The fields that changed, { field: [old, new] }; null on events logged before field-level changes."
    changes: JSON
    origin: ChangeOrigin
    row: JSON
  }

  type ChangesPage {
    events: [ChangeEvent!]!
    "Resume with after: cursor."
    cursor: String!
  }

  "A change to one booking. id, bookingId, status, examId and updatedAt are the seed's names."
  type BookingUpdate {
    "The change-log seq: resubscribe with after: seq to resume."
    seq: String!
    op: String!
    at: String!
    id: ID!
    bookingId: String
    status: String
    examId: ID
    updatedAt: String
    "The fields that changed, { field: [old, new] }."
    changes: JSON
    origin: ChangeOrigin
    booking: Booking!
  }

  type Query {
    exams(isActive: Boolean, startDate: String, endDate: String): [Exam!]!
    exam(id: ID!): Exam
    bookings(examId: ID!): [Booking!]!
    "Changes after a cursor (a response's X-Replica-Seq, or a previous cursor)."
    changes(after: String!, examIds: [ID!], limit: Int = 100): ChangesPage!
  }

  type Subscription {
    "Every change to the exam's bookings after the cursor (default: from now), then live."
    bookingUpdated(examId: ID!, after: String): BookingUpdate!
  }
`
