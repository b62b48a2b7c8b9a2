// The enumerations fields take, as plain constants (no zod), so that records.ts and the client bundle stay free of the schemas.

/** A booking's attendance as the API speaks it (null: not marked). HubSpot stores the seed's "Yes" / "No". */
export const ATTENDANCE_VALUES = ['attended', 'no_show'] as const
export type Attendance = (typeof ATTENDANCE_VALUES)[number]
