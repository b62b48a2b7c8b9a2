-- A booking's free-text notes (the field catalogue's `notes`, HubSpot property `notes`): nullable, no default.
ALTER TABLE public.hubspot_bookings ADD COLUMN IF NOT EXISTS notes TEXT;
